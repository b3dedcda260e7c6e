"""The discovery log: per run and store, the datamap changes discovery proposed for review.

Rows hold datamap key paths, categories and confidences, never sampled values. Each run also
appends a `discovery_run` event with its counts to the audit ledger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

from .schema import discovery_changes_t

if TYPE_CHECKING:
    from .db import StateDB


class ProposedChange(Protocol):
    """What the log keeps of a proposed change (discovery's `Change`)."""

    kind: str
    path: str
    detail: str
    category: str | None
    confidence: float | None


@dataclass(frozen=True)
class LoggedChange:
    run: str
    at: str
    store: str
    kind: str
    path: str
    detail: str
    category: str | None
    confidence: float | None


class DiscoveryLog:
    def __init__(self, db: StateDB):
        self.db = db

    def record(self, run: str, actor: str, store: str, changes: Sequence[ProposedChange]) -> dict[str, int]:
        """Store one run's changes for one store (an empty run is recorded too: nothing new)."""
        at = self.db.clock().isoformat()
        counts = dict(Counter(c.kind for c in changes))
        rows = [
            {
                "run": run,
                "at": at,
                "store": store,
                "kind": c.kind,
                "path": c.path,
                "detail": c.detail,
                "category": c.category,
                "confidence": c.confidence,
            }
            for c in changes
        ] or [{"run": run, "at": at, "store": store, "kind": "none", "path": "", "detail": "nothing new"}]
        with self.db.engine.begin() as conn:
            conn.execute(discovery_changes_t.insert(), rows)
            details = {"store": store, "run": run, **counts}
            self.db.ledger.append(
                conn, at=self.db.clock(), actor=actor, event="discovery_run", details=details
            )
        return counts

    def latest(self, store: str | None = None) -> list[LoggedChange]:
        """Each store's changes from its most recent run (or one store's)."""
        t = discovery_changes_t
        last = sa.select(t.c.store, sa.func.max(t.c.id).label("last_id")).group_by(t.c.store).subquery()
        last_run = sa.select(t.c.store, t.c.run).join(last, t.c.id == last.c.last_id).subquery()
        stmt = (
            sa.select(t)
            .join(last_run, sa.and_(t.c.store == last_run.c.store, t.c.run == last_run.c.run))
            .where(t.c.kind != "none")
            .order_by(t.c.store, t.c.id)
        )
        if store:
            stmt = stmt.where(t.c.store == store)
        with self.db.engine.connect() as conn:
            return [
                LoggedChange(r.run, r.at, r.store, r.kind, r.path, r.detail, r.category, r.confidence)
                for r in conn.execute(stmt)
            ]
