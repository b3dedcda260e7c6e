"""An embedded demo project: a SQLite shop and its Parquet event lake, their datamap and config.

The lake's events reach the shop's customers through a link between stores, so one request
covers both. No server is needed.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import yaml

from ..core.keys import generate_key_file
from . import files, shop

PEOPLE = 40

# The demo's retention: support tickets live two years from opening, lake events 13 months.
RULES = {
    "rules": [
        {
            "name": "support-tickets",
            "store": "shop",
            "collection": "support_tickets",
            "age": {"field": "opened_at"},
            "period": "P2Y",
            "action": "delete",
            "legal_basis": "support contract: tickets are kept two years",
            "owner": "head of support",
        },
        {
            "name": "events",
            "store": "lake",
            "collection": "events",
            "age": {"partition": "day"},
            "period": "P13M",
            "action": "delete",
            "legal_basis": "analytics consent: 13 months",
            "owner": "data team",
        },
    ]
}


def prepare(folder: Path) -> tuple[Path, list[shop.Person]]:
    """Create (or reuse) the demo project in `folder`; returns its dsr.yaml and the people in it."""
    folder.mkdir(parents=True, exist_ok=True)
    persons = shop.people(PEOPLE, tenants=("acme", "globex"))
    config_path = folder / "dsr.yaml"
    if not config_path.exists():
        shop.create(sa.create_engine(f"sqlite:///{folder / 'shop.db'}"), persons)
        files.write_lake(folder / "lake", persons)
        generate_key_file(folder / ".dsr" / "master.key")
        (folder / "retention_rules.yaml").write_text(yaml.safe_dump(RULES, sort_keys=False))
        stores = {"shop": shop.DATAMAP, "lake": files.LAKE_DATAMAP}
        (folder / "datamap.yaml").write_text(
            yaml.safe_dump({"version": 1, "stores": stores}, sort_keys=False)
        )
        config_path.write_text(
            yaml.safe_dump(
                {
                    "request_store": "sqlite:///.dsr/state.db",
                    "datamap": "datamap.yaml",
                    "export_dir": ".dsr/exports",
                    "key_file": ".dsr/master.key",
                    "stores": [
                        {"name": "shop", "kind": "sql", "url": "sqlite:///shop.db"},
                        {"name": "lake", "kind": "parquet", "url": "lake"},
                    ],
                },
                sort_keys=False,
            )
        )
    return config_path, persons
