"""Restriction of processing (Art. 18): mark a subject's records so that processing skips them, and
lift it again, restoring exactly the state before.

Per collection the datamap's `restriction:` says how records are marked: a flag column (SQL), an
object tag (S3) or a side table of keys (lakes). A restriction records, per store and collection,
which records it covers and which of them were marked already before it (both encrypted: keys can
be personal). Lifting clears what it covered, minus what was marked before, minus what another
active restriction still covers. A collection without a marker is covered through a followed
reference to one that has one (an order through its customer); a collection with neither is
reported, because processing there cannot be stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from connectors import SOURCE, Connector
from connectors.matching import distinct, matches

from ..plan import through
from ..plan.datamap.model import CollectionSpec, StoreMap
from ..plan.lookup import REQUEST, find_subjects
from ..state.db import StateDB
from ..state.requests import Subject
from ..state.results import CollectionResult, SkippedItem

NO_MARKER = "processing here cannot be restricted: give the collection a restriction: in the datamap"


def _marked(spec: CollectionSpec) -> bool:
    return spec.restriction is not None


def covering(store: StoreMap, collection: str) -> str | None:
    """The collection whose marker restricts this one's records: itself, or one it follows a reference to."""
    steps = through.path(store, collection, _marked)
    if steps is None:
        return None
    return steps[-1][1].to if steps else collection


def inherited(store: StoreMap, connector: Connector, collection: str) -> pa.Table | None:
    """Values of `collection`'s reference fields that make its records restricted through the
    collection it references (an order whose customer is flagged); None when it has its own marker
    or none at all."""
    steps = through.path(store, collection, _marked)
    if not steps:
        return None
    top = steps[-1][1].to
    return through.keys_down(
        connector, steps, connector.restricted(top, store.collections[top].restriction.marker)
    )


def key_columns(kind: str, spec: CollectionSpec) -> list[str]:
    """How a store names the records a marker covers."""
    if kind == "s3":
        return [SOURCE]
    if kind == "parquet":
        return list(spec.restriction.key)
    return list(spec.primary_key)


RESTRICTED = "_restricted"  # in a subject's own access export: is this record's processing restricted?


def marked(kind: str, store: StoreMap, connector: Connector, collection: str, rows: pa.Table) -> pa.Table:
    """`rows` with a `_restricted` column, for a collection restricted by its own marker or through
    the collection it references; unchanged for one that cannot be restricted."""
    spec = store.collections.get(collection)
    if spec is None or not rows.num_rows:
        return rows
    if spec.restriction is not None:
        columns = key_columns(kind, spec)
        if not set(columns) <= set(rows.column_names):
            return rows  # rows without the key (a sample never read by key) cannot be told apart
        keys = distinct(rows.select(columns), columns)
        restricted = connector.restricted(collection, spec.restriction.marker, keys)
    else:
        restricted = inherited(store, connector, collection)
        if restricted is None:
            return rows
    hit = matches(rows, restricted) if restricted.num_rows else pa.array([False] * rows.num_rows, pa.bool_())
    return rows.append_column(RESTRICTED, hit)


def sample_filter(kind: str, store: StoreMap | None, connector: Connector):
    """For discovery: a collection's sampled rows without the restricted ones (when they can be told)."""

    def unrestricted(collection: str, rows: pa.Table) -> pa.Table:
        flagged = marked(kind, store, connector, collection, rows) if store else rows
        return rows.filter(pc.invert(flagged[RESTRICTED])) if RESTRICTED in flagged.column_names else rows

    return unrestricted


def _without(table: pa.Table, other: pa.Table) -> pa.Table:
    if not table.num_rows or not other.num_rows:
        return table
    return table.filter(pc.invert(matches(table, other.select(table.column_names))))


@dataclass
class RestrictionOutcome:
    results: dict[int, list[CollectionResult]]
    skipped: dict[int, list[SkippedItem]]


def restrict(
    store_name: str,
    kind: str,
    store: StoreMap,
    connector: Connector,
    subjects: Sequence[Subject],
    db: StateDB,
) -> RestrictionOutcome:
    """Mark every record of the subjects in this store; collections that cannot be marked are reported."""
    found = find_subjects(store, connector, subjects)
    results: dict[int, list[CollectionResult]] = {s.request_id: [] for s in subjects}
    skipped: dict[int, list[SkippedItem]] = {r: list(v) for r, v in found.skipped.items()}
    for collection, rows in sorted(found.tables.items()):
        spec = store.collections[collection]
        for request_id in sorted(set(rows[REQUEST].to_pylist())):
            mine = rows.filter(pc.equal(rows[REQUEST], request_id))
            if spec.restriction is None:
                via = covering(store, collection)
                reason = f"restricted through {via}" if via else NO_MARKER
                results[request_id].append(
                    CollectionResult(store_name, collection, found=mine.num_rows, reason=reason)
                )
                if via is None:
                    skipped.setdefault(request_id, []).append(
                        SkippedItem(store_name, collection, collection, NO_MARKER)
                    )
                continue
            columns = key_columns(kind, spec)
            covered = distinct(mine.select(columns), columns)
            marker = spec.restriction.marker
            # Marked before, except by another active restriction: lifting that one or this one
            # then clears the mark once neither needs it.
            previous = connector.restricted(collection, marker, covered)
            for other in db.restrictions.active(store_name):
                if other.collection == collection and other.request_id != request_id:
                    previous = _without(previous, _without(other.covered, other.previous))
            n = connector.restrict(collection, _without(covered, previous), marker, True)
            db.restrictions.record(request_id, store_name, collection, covered, previous)
            results[request_id].append(
                CollectionResult(
                    store_name, collection, found=mine.num_rows, restricted=n, reason=f"marked by {marker}"
                )
            )
    return RestrictionOutcome(results, skipped)


def lift(
    store_name: str,
    store: StoreMap,
    connector: Connector,
    lifts: Sequence[tuple[int, list[int]]],
    db: StateDB,
    actor: str,
) -> RestrictionOutcome:
    """Lift the restrictions each lift request names: clear what each set, and nothing still covered."""
    results: dict[int, list[CollectionResult]] = {lift_id: [] for lift_id, _ in lifts}
    now = db.clock()
    for lift_id, targets in lifts:
        # Read (and decrypted) once per lift: lifting changes only the targets' records.
        active = db.restrictions.active(store_name)
        for record in [r for r in active if r.request_id in targets]:
            spec = store.collections.get(record.collection)
            others = [
                r.covered for r in active if r.collection == record.collection and r.request_id not in targets
            ]
            clear = _without(record.covered, record.previous)
            for other in others:
                clear = _without(clear, other)
            n = (
                connector.restrict(record.collection, clear, spec.restriction.marker, False)
                if clear.num_rows
                else 0
            )
            db.restrictions.lifted(record.request_id, store_name, record.collection, lift_id, now)
            db.requests.audit(
                record.request_id,
                "restriction_lifted",
                actor,
                {"store": store_name, "collection": record.collection, "lifted_by": lift_id, "records": n},
            )
            results[lift_id].append(
                CollectionResult(
                    store_name, record.collection, lifted=n, reason=f"restriction {record.request_id}"
                )
            )
    return RestrictionOutcome(results, {})
