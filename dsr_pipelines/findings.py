"""The log of discovery runs: per store, what the latest run proposed that the datamap lacks.

Rows hold datamap key paths, categories and confidences, never sampled values. Each run also
appends a `discovery_run` event with its counts to the audit ledger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from .ledger import metadata
from .proposal import Change
from .request_store import RequestStore

findings_table = sa.Table(
    "dsr_discovery_findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run", sa.String(64), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("store", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("category", sa.String(60)),
    sa.Column("confidence", sa.Float),
    sa.Index("ix_dsr_discovery_findings_store_run", "store", "run"),
)


@dataclass(frozen=True)
class Finding:
    run: str
    at: str
    store: str
    kind: str
    path: str
    detail: str
    category: str | None
    confidence: float | None


def record(rs: RequestStore, run: str, actor: str, store: str, changes: Sequence[Change]) -> dict[str, int]:
    """Store one run's changes for one store (an empty run is recorded too: nothing new)."""
    findings_table.create(rs.engine, checkfirst=True)
    at = rs.clock().isoformat()
    counts = dict(Counter(c.kind for c in changes))
    with rs.engine.begin() as conn:
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
        conn.execute(findings_table.insert(), rows)
        details = {"store": store, "run": run, **counts}
        rs.ledger.append(conn, at=rs.clock(), actor=actor, event="discovery_run", details=details)
    return counts


def latest(rs: RequestStore, store: str | None = None) -> list[Finding]:
    """Each store's findings from its most recent run (or one store's)."""
    findings_table.create(rs.engine, checkfirst=True)
    t = findings_table
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
    with rs.engine.connect() as conn:
        return [
            Finding(r.run, r.at, r.store, r.kind, r.path, r.detail, r.category, r.confidence)
            for r in conn.execute(stmt)
        ]
