"""The datamap: draft a store's entry from its schema, and check the map against the live stores."""

from __future__ import annotations

from connectors import StoreError

from ..core.errors import DatamapError, DsrError
from ..plan.datamap.check import Problem, live_problems, static_problems
from ..plan.datamap.draft import draft_store_map
from ..plan.datamap.model import Datamap, load_datamap, save_datamap
from ..plan.reach import open_connector
from .workspace import Workspace


def check(ws: Workspace) -> list[Problem]:
    """Every problem of the datamap, on its own and against each live store, with its key path."""
    datamap = ws.datamap
    problems = static_problems(datamap, ws.store_kinds(), ws.config.settings.tenants)
    for name, store_map in sorted(datamap.stores.items()):
        if any(p.path == f"stores.{name}" for p in problems):
            continue
        try:
            connector = open_connector(ws.config, name, datamap)
        except (StoreError, DsrError) as exc:
            problems.append(Problem(f"stores.{name}", str(exc)))
            continue
        try:
            problems += live_problems(name, store_map, connector)
        finally:
            connector.close()
    return problems


def init(ws: Workspace, store: str, force: bool = False) -> Datamap:
    """Draft a store's entry from reflection and write it into the datamap (unreviewed)."""
    path = ws.config.datamap_path
    datamap = load_datamap(path) if path.is_file() else Datamap()
    if store in datamap.stores and not force:
        raise DatamapError(f"{path} already maps store {store}; review it, or use --force to redraft")
    connector = open_connector(ws.config, store)
    try:
        datamap.stores[store] = draft_store_map(connector.collections())
    finally:
        connector.close()
    save_datamap(datamap, path)
    return datamap
