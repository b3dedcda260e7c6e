"""One store's share of a batch of requests, as plain functions the Dagster ops call.

Each function takes the subjects, the store's map and its connector, and returns a summary of
counts per request: rows stay inside the function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow.compute as pc

from connectors import Connector

from . import erasure
from .config import GuardConfig
from .datamap import StoreMap
from .export import ExportFile, stage_collection
from .keys import Keys
from .lookup import REQUEST, counts_per_request, find_subjects, guard_violations
from .request_store import CollectionResult, Subject


@dataclass(frozen=True)
class StoreSummary:
    """What one store did for a batch: counts per request, never rows or identities."""

    store: str
    request_ids: tuple[int, ...] = ()
    results: dict[int, tuple[CollectionResult, ...]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    files: dict[int, tuple[ExportFile, ...]] = field(default_factory=dict)


def _found_results(store_name: str, found, request_ids) -> dict[int, list[CollectionResult]]:
    out: dict[int, list[CollectionResult]] = {r: [] for r in request_ids}
    for collection, rows in sorted(found.items()):
        for request_id, n in counts_per_request(rows).items():
            out[request_id].append(CollectionResult(store_name, collection, found=n))
    return out


def inspect(
    store_name: str,
    store: StoreMap,
    connector: Connector,
    subjects: Sequence[Subject],
    request_type: str,
    guard: GuardConfig,
) -> StoreSummary:
    """Find and plan without changing anything: the guard's check, and the dry run's answer."""
    ids = [s.request_id for s in subjects]
    found = find_subjects(store, connector, subjects)
    if request_type == "erasure":
        results = erasure.results(store_name, erasure.plan(store, connector, found), ids)
    else:
        results = _found_results(store_name, found, ids)
    return StoreSummary(
        store_name,
        tuple(ids),
        {r: tuple(v) for r, v in results.items()},
        guard_violations(store_name, found, connector, guard),
    )


def export(
    store_name: str,
    store: StoreMap,
    connector: Connector,
    subjects: Sequence[Subject],
    keys: Keys,
    staging: Path,
) -> StoreSummary:
    """Stage each subject's records of every collection in this store."""
    ids = [s.request_id for s in subjects]
    found = find_subjects(store, connector, subjects)
    results = _found_results(store_name, found, ids)
    files: dict[int, list[ExportFile]] = {r: [] for r in ids}
    for collection, rows in sorted(found.items()):
        for request_id in counts_per_request(rows):
            mine = rows.filter(pc.equal(rows[REQUEST], request_id))
            files[request_id] += stage_collection(staging, keys, request_id, store_name, collection, mine)
    exported = {r: tuple(replace(c, exported=c.found) for c in results[r]) for r in ids}
    return StoreSummary(store_name, tuple(ids), exported, {}, {r: tuple(f) for r, f in files.items()})


def erase(
    store_name: str,
    store: StoreMap,
    connector: Connector,
    subjects: Sequence[Subject],
    keys: Keys,
) -> StoreSummary:
    """Erase in one transaction, then probe: look the subjects up again and plan again."""
    ids = [s.request_id for s in subjects]
    plans = erasure.plan(store, connector, find_subjects(store, connector, subjects))
    connector.erase(erasure.operations(store, plans, keys.mask_key))
    results = erasure.results(store_name, plans, ids)
    probe = erasure.plan(store, connector, find_subjects(store, connector, subjects))
    left = erasure.residual(probe)
    probed = {r: tuple(replace(c, residual=left.get((r, c.collection), 0)) for c in results[r]) for r in ids}
    for (request_id, collection), n in left.items():
        if not any(c.collection == collection for c in probed[request_id]):
            probed[request_id] += (CollectionResult(store_name, collection, residual=n),)
    return StoreSummary(store_name, tuple(ids), probed)


def merge(store_name: str, request_ids: tuple[int, ...], parts: Sequence[StoreSummary]) -> StoreSummary:
    """One summary for a store from the parts done per request type."""
    out = StoreSummary(store_name, request_ids)
    for part in parts:
        out.results.update(part.results)
        out.failed.update(part.failed)
        out.files.update(part.files)
    return out


def totals(summary: StoreSummary) -> dict[str, int]:
    keys = ("found", "exported", "deleted", "masked", "retained", "residual")
    return {k: sum(getattr(c, k) for rs in summary.results.values() for c in rs) for k in keys}
