"""One store's share of a batch of requests: inspect, export, erase, restrict, lift.

Each function takes the subjects, the store's map and its connector, and returns a summary of
counts per request: rows stay inside the function. What a store could not read or change is
returned beside the summary (`Outcome.skipped`), to be recorded in the state database: object
keys and file names may themselves be personal, so they never travel in a summary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow.compute as pc

from connectors import Chunk, Connector

from ..core.config import GuardConfig
from ..core.faults import crash_point
from ..core.keys import Keys
from ..plan import erasure
from ..plan.datamap.model import StoreMap
from ..plan.export import ExportFile, stage_collection
from ..plan.guard import Refusal, refusals
from ..plan.lookup import (
    REQUEST,
    counts_per_request,
    find_subjects,
    merge_skipped,
    requests_holding,
)
from ..retain import restriction, tombstones
from ..state.db import StateDB
from ..state.requests import Subject
from ..state.results import COUNTS, CollectionResult, SkippedItem, chunk_key
from ..state.tombstones import Tombstone


@dataclass(frozen=True)
class StoreSummary:
    """What one store did for a batch: counts per request, never rows, identities or object names."""

    store: str
    request_ids: tuple[int, ...] = ()
    results: dict[int, tuple[CollectionResult, ...]] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    files: dict[int, tuple[ExportFile, ...]] = field(default_factory=dict)
    refused: dict[int, Refusal] = field(default_factory=dict)  # by the guard (also in `failed`)
    chunk: Chunk | None = None  # one chunk's share of the store (its results are under the chunk's key)


@dataclass(frozen=True)
class Outcome:
    summary: StoreSummary
    skipped: dict[int, list[SkippedItem]] = field(default_factory=dict)


def _found_results(store_name: str, found, request_ids) -> dict[int, list[CollectionResult]]:
    out: dict[int, list[CollectionResult]] = {r: [] for r in request_ids}
    for collection, rows in sorted(found.items()):
        for request_id, n in counts_per_request(rows).items():
            out[request_id].append(CollectionResult(store_name, collection, found=n))
    return out


def _with_counts(
    store_name: str,
    results: dict[int, list[CollectionResult]],
    skipped: dict[int, list[SkippedItem]],
    **extra: dict[tuple[int, str], int],
) -> dict[int, tuple[CollectionResult, ...]]:
    """Results with per-collection counts added (skipped items, and e.g. residual or versions)."""
    added: dict[str, dict[tuple[int, str], int]] = {name: dict(counts) for name, counts in extra.items()}
    added["skipped"] = {}
    for request_id, items in skipped.items():
        for item in items:
            key = (request_id, item.collection)
            added["skipped"][key] = added["skipped"].get(key, 0) + 1
    out = {}
    for request_id, rows in results.items():
        rows = list(rows)
        collections = {c for name in added for (r, c) in added[name] if r == request_id}
        for collection in sorted(collections - {c.collection for c in rows}):
            rows.append(CollectionResult(store_name, collection))
        out[request_id] = tuple(
            replace(c, **{name: counts.get((request_id, c.collection), 0) for name, counts in added.items()})
            for c in rows
        )
    return out


def inspect(
    store_name: str,
    store: StoreMap,
    connector: Connector,
    subjects: Sequence[Subject],
    request_type: str,
    guards: Mapping[int, GuardConfig | None],
) -> StoreSummary:
    """Find and plan without changing anything: the guard's check (each request's own guard), and
    the dry run's answer."""
    ids = [s.request_id for s in subjects]
    found = find_subjects(store, connector, subjects)
    if request_type == "erasure":
        results = erasure.results(store_name, erasure.plan(store, connector, found.tables), ids)
    else:
        results = _found_results(store_name, found.tables, ids)
    refused = refusals(store_name, found.tables, connector, guards)
    return StoreSummary(
        store_name,
        tuple(ids),
        _with_counts(store_name, results, found.skipped),
        failed={r: str(why) for r, why in refused.items()},
        refused=refused,
    )


def export(
    store_name: str,
    kind: str,
    store: StoreMap,
    connector: Connector,
    subjects: Sequence[Subject],
    keys: Keys,
    staging: Path,
    chunk: int | None = None,
) -> Outcome:
    """Stage each subject's records of every collection in this store (or this chunk of it: a file
    per chunk and collection), restricted ones marked as such."""
    ids, key = [s.request_id for s in subjects], chunk_key(store_name, chunk)
    found = find_subjects(store, connector, subjects)
    found.tables.update(
        {c: restriction.marked(kind, store, connector, c, rows) for c, rows in found.tables.items()}
    )
    results = _found_results(key, found.tables, ids)
    files: dict[int, list[ExportFile]] = {r: [] for r in ids}
    for collection, rows in sorted(found.tables.items()):
        for request_id in counts_per_request(rows):
            mine = rows.filter(pc.equal(rows[REQUEST], request_id))
            files[request_id] += stage_collection(
                staging, keys, request_id, store_name, collection, mine, chunk
            )
    exported = {r: [replace(c, exported=c.found) for c in results[r]] for r in ids}
    summary = StoreSummary(
        store_name,
        tuple(ids),
        _with_counts(key, exported, found.skipped),
        {},
        {r: tuple(f) for r, f in files.items()},
    )
    return Outcome(summary, found.skipped)


Planned = Callable[[dict[int, list[CollectionResult]], list[Tombstone]], None]


def erase(
    store_name: str,
    store: StoreMap,
    connector: Connector,
    subjects: Sequence[Subject],
    keys: Keys,
    planned_first: Planned | None = None,
) -> Outcome:
    """Erase (in one transaction where the store has them), then probe: look up and plan again.

    `planned_first` receives the plan's counts per request and the tombstones of what it will
    erase before the store commits anything: killed after the commit, a run leaves a record of what
    was erased that its resumed run reconciles with what it finds then (nothing).
    """
    ids = [s.request_id for s in subjects]
    found = find_subjects(store, connector, subjects)
    plans = erasure.plan(store, connector, found.tables)
    ops = erasure.operations(store, plans, keys.mask_key)
    results = erasure.results(store_name, plans, ids)
    dead = _tombstones(store, plans, keys.tombstone_key)
    if planned_first is not None:
        planned_first(results, dead)
    crash_point("apply:before_commit")
    done = connector.erase(ops)
    crash_point("apply:after_commit")
    skipped = {r: list(v) for r, v in found.skipped.items()}
    versions: dict[tuple[int, str], int] = {}
    planned = {p.collection: p.found for p in plans}
    for op, count in zip(ops, done, strict=True):
        rows = [planned[op.collection]]
        for held in count.versions:
            for request_id in requests_holding(rows, held):
                versions[(request_id, op.collection)] = versions.get((request_id, op.collection), 0) + 1
        for problem in count.skipped:
            item = SkippedItem(store_name, problem.collection, problem.item, problem.reason)
            merge_skipped(skipped, {r: [item] for r in requests_holding(rows, problem.hits)})
    probe = find_subjects(store, connector, subjects)
    merge_skipped(skipped, probe.skipped)
    left = erasure.residual(erasure.plan(store, connector, probe.tables))
    summary = StoreSummary(
        store_name, tuple(ids), _with_counts(store_name, results, skipped, residual=left, versions=versions)
    )
    return Outcome(summary, skipped)


def _tombstones(store: StoreMap, plans, key: bytes) -> list[Tombstone]:
    """For rows with a primary key: what a restore would bring back, to be erased again."""
    out: list[Tombstone] = []
    for plan in plans:
        columns = list(store.collections[plan.collection].primary_key)
        if not columns:
            continue
        for action, rows in (("delete", plan.delete), ("mask", plan.mask)):
            if rows is not None:
                out += tombstones.for_rows(key, plan.collection, action, rows, columns)
    return out


def merge(store_name: str, request_ids: tuple[int, ...], parts: Sequence[StoreSummary]) -> StoreSummary:
    """One summary for a store from the parts done per request type."""
    out = StoreSummary(store_name, request_ids)
    for part in parts:
        out.results.update(part.results)
        out.failed.update(part.failed)
        out.files.update(part.files)
        out.refused.update(part.refused)
    return out


def totals(summary: StoreSummary) -> dict[str, int]:
    return {k: sum(getattr(c, k) for results in summary.results.values() for c in results) for k in COUNTS}


def restrict(
    store_name: str,
    kind: str,
    store: StoreMap,
    connector: Connector,
    subjects: Sequence[Subject],
    db: StateDB,
) -> Outcome:
    """Mark the subjects' records restricted in this store (flag, tag or side table)."""
    done = restriction.restrict(store_name, kind, store, connector, subjects, db)
    ids = tuple(s.request_id for s in subjects)
    return Outcome(
        StoreSummary(store_name, ids, _with_counts(store_name, done.results, done.skipped)), done.skipped
    )


def lift(
    store_name: str,
    store: StoreMap,
    connector: Connector,
    subjects: Sequence[Subject],
    db: StateDB,
    actor: str,
) -> Outcome:
    """Lift the restrictions of the same tenant and subject as each lift request, in this store."""
    records = {r.id: r for r in db.requests.get_many([s.request_id for s in subjects])}
    targets = [
        (s.request_id, db.restrictions.of_subject(s.tenant, records[s.request_id].subject_refs))
        for s in subjects
    ]
    done = restriction.lift(store_name, store, connector, targets, db, actor)
    ids = tuple(s.request_id for s in subjects)
    return Outcome(StoreSummary(store_name, ids, _with_counts(store_name, done.results, {})))
