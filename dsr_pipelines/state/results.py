"""What each store did for each request: its status, counts per collection, and what it skipped.

A store's outcome for a request replaces an earlier attempt's, so a resumed run records the
truth of its last attempt; `done` stores are skipped when the request runs again. A store split
into chunks records each chunk's outcome under its own key (`lake.3`, `chunk_key`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from . import sealed
from .schema import results_t, skipped_t, store_runs_t

if TYPE_CHECKING:
    from .db import StateDB


def chunk_key(store: str, chunk: int | None) -> str:
    """What a store's, or one of its chunks', outcomes are recorded under."""
    return store if chunk is None else f"{store}.{chunk}"  # store names have no dots


def store_of(key: str) -> str:
    return key.partition(".")[0]


APPLYING = "applying"  # a store's outcome while its erasure is being applied: the plan, not yet done
COUNTS = (
    "found",
    "exported",
    "deleted",
    "masked",
    "retained",
    "residual",
    "skipped",
    "versions",
    "restricted",
    "lifted",
)


@dataclass(frozen=True)
class SkippedItem:
    """An object or file a store could not read or change for a request, and why."""

    store: str
    collection: str
    item: str
    reason: str


@dataclass(frozen=True)
class CollectionResult:
    store: str
    collection: str
    found: int = 0
    exported: int = 0
    deleted: int = 0
    masked: int = 0
    retained: int = 0
    residual: int = 0
    skipped: int = 0  # objects or files that could not be read or changed (listed per request)
    versions: int = 0  # older object versions deleted
    restricted: int = 0  # records newly marked restricted
    lifted: int = 0  # records whose restriction was lifted
    reason: str | None = None


@dataclass(frozen=True)
class StoreOutcome:
    """One store's outcome for one request: `done`, `partial`, `held` or `failed`, with counts."""

    request_id: int
    status: str
    results: tuple[CollectionResult, ...] = ()
    error: str | None = None
    skipped: tuple[SkippedItem, ...] = ()


@dataclass(frozen=True)
class Recorded:
    """What the stores recorded for one request: status per store, counts, skipped items."""

    stores: dict[str, dict]
    results: list[CollectionResult]
    skipped: list[SkippedItem]


class Results:
    def __init__(self, db: StateDB):
        self.db = db

    def done_stores(self, request_ids: Sequence[int]) -> set[tuple[int, str]]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(store_runs_t.c.request_id, store_runs_t.c.store).where(
                    store_runs_t.c.request_id.in_(list(request_ids)), store_runs_t.c.status == "done"
                )
            )
            return {(r.request_id, r.store) for r in rows}

    def finished_count(self, request_ids: Sequence[int]) -> int:
        """How many (request, store) outcomes are recorded: a run's progress."""
        with self.db.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(store_runs_t.c.request_id.in_(list(request_ids)))
            return conn.execute(query.select_from(store_runs_t)).scalar()

    def record_store(
        self,
        request_id: int,
        store: str,
        status: str,
        results: Sequence[CollectionResult],
        actor: str,
        error: str | None = None,
        skipped: Sequence[SkippedItem] = (),
    ) -> None:
        """Store one store's outcome for one request (replacing an earlier attempt's), audited."""
        self.record_stores(
            store, [StoreOutcome(request_id, status, tuple(results), error, tuple(skipped))], actor
        )

    def record_stores(self, store: str, outcomes: Sequence[StoreOutcome], actor: str) -> None:
        """Store one store's outcomes for many requests (replacing earlier attempts'), audited, in one
        transaction: a batch's step writes its bookkeeping in bulk."""
        if not outcomes:
            return
        now = self.db.clock()
        ids = [o.request_id for o in outcomes]
        records = {r.id: r for r in self.db.requests.get_many(ids)}
        encrypt = self.db.keys.encrypt
        skipped_rows = [
            {
                "request_id": o.request_id,
                "store": item.store,
                "collection": item.collection,
                "item": encrypt(item.item.encode(), sealed.skipped_item(o.request_id)),
                "reason": item.reason,
            }
            for o in outcomes
            for item in o.skipped
        ]
        result_rows = [{"request_id": o.request_id, **vars(r)} for o in outcomes for r in o.results]
        run_rows = [
            {
                "request_id": o.request_id,
                "store": store,
                "status": o.status,
                "error": o.error,
                "finished_at": now,
                "actor": actor,
            }
            for o in outcomes
        ]
        events = []
        for o in outcomes:
            totals = {k: sum(getattr(r, k) for r in o.results) for k in COUNTS}
            details = {"store": store, **totals, **({"error": o.error} if o.error else {})}
            events.append(
                self.db.requests.event(records[o.request_id], f"store_{o.status}", actor, now, details)
            )
        with self.db.engine.begin() as conn:
            for table in (results_t, store_runs_t, skipped_t):
                conn.execute(sa.delete(table).where(table.c.request_id.in_(ids), table.c.store == store))
            for table, rows in (
                (skipped_t, skipped_rows),
                (results_t, result_rows),
                (store_runs_t, run_rows),
            ):
                if rows:
                    conn.execute(sa.insert(table), rows)
            self.db.ledger.append_many(conn, events)

    def record_plan(self, store: str, planned: Mapping[int, Sequence[CollectionResult]], actor: str) -> None:
        """Before a store commits an erasure: what it is about to do, per request (status `applying`),
        in one transaction. A run killed after the commit leaves this record; its resumed run, which
        then finds nothing left to erase, reconciles with it (`planned`)."""
        if not planned:
            return
        now = self.db.clock()
        ids = list(planned)
        with self.db.engine.begin() as conn:
            for table in (results_t, store_runs_t):
                conn.execute(sa.delete(table).where(table.c.request_id.in_(ids), table.c.store == store))
            rows = [{"request_id": r, **vars(c)} for r, results in planned.items() for c in results]
            if rows:
                conn.execute(sa.insert(results_t), rows)
            conn.execute(
                sa.insert(store_runs_t),
                [
                    {"request_id": r, "store": store, "status": APPLYING, "finished_at": now, "actor": actor}
                    for r in ids
                ],
            )

    def planned(self, request_ids: Sequence[int], store: str) -> dict[int, list[CollectionResult]]:
        """What an earlier attempt recorded it was about to do in `store` and did not record as done."""
        query = (
            sa.select(results_t)
            .join(
                store_runs_t,
                sa.and_(
                    store_runs_t.c.request_id == results_t.c.request_id,
                    store_runs_t.c.store == results_t.c.store,
                ),
            )
            .where(
                results_t.c.request_id.in_(list(request_ids)),
                results_t.c.store == store,
                store_runs_t.c.status == APPLYING,
            )
        )
        out: dict[int, list[CollectionResult]] = {}
        with self.db.engine.connect() as conn:
            for r in conn.execute(query):
                fields = {k: v for k, v in r._mapping.items() if k != "request_id"}
                out.setdefault(r.request_id, []).append(CollectionResult(**fields))
        return out

    def recorded(self, request_ids: Sequence[int]) -> dict[int, Recorded]:
        """What every store recorded for each request, read in one go (a batch's finish)."""
        ids = list(request_ids)
        out = {i: Recorded({}, [], []) for i in ids}
        with self.db.engine.connect() as conn:
            for r in conn.execute(sa.select(store_runs_t).where(store_runs_t.c.request_id.in_(ids))):
                out[r.request_id].stores[r.store] = {"status": r.status, "error": r.error, "actor": r.actor}
            results = conn.execute(
                sa.select(results_t)
                .where(results_t.c.request_id.in_(ids))
                .order_by(results_t.c.store, results_t.c.collection)
            )
            for r in results:
                fields = {k: v for k, v in r._mapping.items() if k != "request_id"}
                out[r.request_id].results.append(CollectionResult(**fields))
            skipped = conn.execute(
                sa.select(skipped_t).where(skipped_t.c.request_id.in_(ids)).order_by(skipped_t.c.seq)
            )
            for r in skipped:
                item = self.db.keys.decrypt(r.item, sealed.skipped_item(r.request_id)).decode()
                out[r.request_id].skipped.append(SkippedItem(r.store, r.collection, item, r.reason))
        return out
