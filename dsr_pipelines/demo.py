"""An embedded demo project: a SQLite shop with generated people, its datamap and config."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import yaml

from . import shop
from .keys import generate_key_file

PEOPLE = 40


def prepare(folder: Path) -> tuple[Path, list[shop.Person]]:
    """Create (or reuse) the demo project in `folder`; returns its dsr.yaml and the people in it."""
    folder.mkdir(parents=True, exist_ok=True)
    persons = shop.people(PEOPLE, tenants=("acme", "globex"))
    config_path = folder / "dsr.yaml"
    if not config_path.exists():
        shop.create(sa.create_engine(f"sqlite:///{folder / 'shop.db'}"), persons)
        generate_key_file(folder / ".dsr" / "master.key")
        (folder / "datamap.yaml").write_text(
            yaml.safe_dump({"version": 1, "stores": {"shop": shop.DATAMAP}}, sort_keys=False)
        )
        config_path.write_text(
            yaml.safe_dump(
                {
                    "request_store": "sqlite:///.dsr/state.db",
                    "datamap": "datamap.yaml",
                    "export_dir": ".dsr/exports",
                    "key_file": ".dsr/master.key",
                    "stores": [{"name": "shop", "kind": "sql", "url": "sqlite:///shop.db"}],
                },
                sort_keys=False,
            )
        )
    return config_path, persons
