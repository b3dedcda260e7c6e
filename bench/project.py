"""A dsr project for a benchmark: dsr.yaml and the datamap in a folder, the state database beside them."""

from __future__ import annotations

from pathlib import Path

import yaml

from dsr_pipelines.demo import shop


def write_project(
    work: Path,
    stores: list[dict],
    datamap: dict | None = None,
    request_store: str = "sqlite:///state.db",
    **settings,
) -> Path:
    """dsr.yaml for `stores` (default datamap: the demo shop as store `shop`); returns its path."""
    work.mkdir(parents=True, exist_ok=True)
    datamap = datamap or {"shop": shop.DATAMAP}
    (work / "datamap.yaml").write_text(yaml.safe_dump({"version": 1, "stores": datamap}))
    config = work / "dsr.yaml"
    base = {"request_store": request_store, "datamap": "datamap.yaml", "export_dir": "exports"}
    config.write_text(yaml.safe_dump({**base, **settings, "stores": stores}))
    return config


def sql_shop(url: str) -> list[dict]:
    return [{"name": "shop", "kind": "sql", "url": url}]
