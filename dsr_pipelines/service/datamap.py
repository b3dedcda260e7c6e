"""The datamap: draft a store's entry from its schema, and check the map against the live stores."""

from __future__ import annotations

from dataclasses import dataclass

from connectors import StoreError

from ..core.errors import DatamapError, DsrError
from ..discover.proposal import identity_questions, merge
from ..plan.datamap.check import Problem, live_problems, static_problems
from ..plan.datamap.draft import draft_store_map
from ..plan.datamap.model import Datamap, load_datamap, save_datamap
from ..plan.reach import open_connector
from . import discovery
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


@dataclass(frozen=True)
class Drafted:
    datamap: Datamap
    identities: int  # proposed, each with a comment asking whether they are the data subjects'


def init(ws: Workspace, store: str, force: bool = False) -> Drafted:
    """Draft a store's entry and write it into the datamap (unreviewed): keys, tenant field and
    references from reflection; personal fields from discovery's evidence on a sample of each table
    (not from column names alone: the `Name` of an artist or a genre is no person's)."""
    path = ws.config.datamap_path
    datamap = load_datamap(path) if path.is_file() else Datamap()
    if store in datamap.stores and not force:
        raise DatamapError(f"{path} already maps store {store}; review it, or use --force to redraft")
    ws.config.store(store)  # an unknown store is named before any work
    report, live = discovery.sample_store(ws, store, Datamap(), discovery.analyzer(ws.config))
    if report.error:
        raise StoreError(f"store {store}: {report.error}")
    # keys, references and ids from the schema; what is personal, from the sample
    proposal = merge(Datamap(stores={store: draft_store_map(live)}), report, live, ws.config.settings.tenants)
    datamap.stores[store] = proposal.datamap.stores[store]
    entry = datamap.stores[store]
    save_datamap(datamap, path, identity_questions(store, entry))
    return Drafted(datamap, sum(len(c.identity_fields()) for c in entry.collections.values()))
