"""Backups as records: each one seen at a location, the scans, and what erased data waits for them.

Every erasure, sweep and purge that changed a store is a holder (`request:7`, `sweep:3`,
`tenant:acme`) linked to that store's backups taken before it. A holder is
`awaiting_backup_ageout` until a scan has confirmed every one of them gone, then
`backups_aged_out`; both are audited. Listing the locations is `retain/backups.py`'s work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..core.durations import Duration
from .schema import ageout_t, backup_links_t, backup_scans_t, backups_t, identities_t, requests_t

if TYPE_CHECKING:
    from .db import StateDB

AWAITING = "awaiting_backup_ageout"
AGED_OUT = "backups_aged_out"


@dataclass(frozen=True)
class Listed:
    """A backup a location listed, with the time it was taken."""

    name: str
    taken_at: datetime


@dataclass
class ScanResult:
    store: str
    present: int = 0
    new: int = 0
    gone: int = 0
    undated: int = 0  # listed, but no time could be read from it: not tracked
    overdue: list[str] = field(default_factory=list)
    error: str | None = None  # the location could not be listed: state unknown

    @property
    def state(self) -> str:
        return "unknown" if self.error else ("overdue" if self.overdue else "ok")


class Backups:
    def __init__(self, db: StateDB):
        self.db = db

    # -- scans --------------------------------------------------------------------------------

    def record_listing(
        self,
        store: str,
        rotation: Duration,
        listed: Sequence[Listed],
        undated: int,
        now: datetime,
        actor: str,
    ) -> ScanResult:
        """What a location listed: new backups are recorded with their due date, unlisted ones are gone."""
        result = ScanResult(store, present=len(listed), undated=undated)
        names = {b.name: b for b in listed}
        with self.db.engine.begin() as conn:
            known = {
                r.name: r
                for r in conn.execute(
                    sa.select(backups_t).where(backups_t.c.store == store, backups_t.c.gone_at.is_(None))
                )
            }
            for name, item in names.items():
                if name not in known:
                    conn.execute(
                        sa.insert(backups_t).values(
                            store=store,
                            name=name,
                            taken_at=item.taken_at,
                            due_by=rotation.add_to(item.taken_at),
                            first_seen=now,
                        )
                    )
                    result.new += 1
            for name, row in known.items():
                if name not in names:
                    conn.execute(sa.update(backups_t).where(backups_t.c.id == row.id).values(gone_at=now))
                    result.gone += 1
            overdue = conn.execute(
                sa.select(backups_t.c.name).where(
                    backups_t.c.store == store, backups_t.c.gone_at.is_(None), backups_t.c.due_by < now
                )
            ).scalars()
            result.overdue = sorted(overdue)
            counts = {"present": result.present, "new": result.new, "gone": result.gone}
            self._record_scan(conn, store, now, None, actor, counts | {"overdue": len(result.overdue)})
        return result

    def record_unknown(self, store: str, now: datetime, error: str, actor: str) -> ScanResult:
        """A location that could not be listed: nothing about its backups changes."""
        with self.db.engine.begin() as conn:
            self._record_scan(conn, store, now, error, actor, {"error": error, "state": "unknown"})
        return ScanResult(store, error=error)

    def _record_scan(self, conn, store: str, now: datetime, error: str | None, actor: str, details: dict):
        conn.execute(sa.insert(backup_scans_t).values(store=store, at=now, error=error))
        self.db.ledger.append(
            conn, at=now, actor=actor, event="backups_scanned", details={"store": store, **details}
        )

    # -- what erased data waits for -----------------------------------------------------------

    def link(
        self, holder: str, stores: Sequence[str], at: datetime, actor: str, request_id: int | None = None
    ) -> int:
        """Tie an erasure or sweep that changed `stores` at `at` to their backups taken before it."""
        return self.link_many([(holder, stores, request_id)], at, actor)[0]

    def link_many(
        self, changes: Sequence[tuple[str, Sequence[str], int | None]], at: datetime, actor: str
    ) -> list[int]:
        """`link` for many (holder, stores, request id), in one transaction; how many backups each."""
        linked = []
        with self.db.engine.begin() as conn:
            for holder, stores, request_id in changes:
                ids = list(
                    conn.execute(
                        sa.select(backups_t.c.id).where(
                            backups_t.c.store.in_(list(stores)),
                            backups_t.c.gone_at.is_(None),
                            backups_t.c.taken_at < at,
                        )
                    ).scalars()
                )
                known = set(
                    conn.execute(
                        sa.select(backup_links_t.c.backup_id).where(backup_links_t.c.holder == holder)
                    ).scalars()
                )
                new = [{"holder": holder, "backup_id": b} for b in sorted(set(ids) - known)]
                if new:
                    conn.execute(sa.insert(backup_links_t), new)
                waiting = conn.execute(
                    sa.select(ageout_t.c.state).where(ageout_t.c.holder == holder)
                ).scalar()
                if ids and waiting is None:
                    conn.execute(
                        sa.insert(ageout_t).values(
                            holder=holder, request_id=request_id, state=AWAITING, since=at
                        )
                    )
                    self._audit(conn, holder, request_id, AWAITING, actor, at, {"backups": len(ids)})
                linked.append(len(ids))
        return linked

    def refresh(self, actor: str, now: datetime) -> list[str]:
        """Holders whose every linked backup a scan has confirmed gone become aged out; returns them."""
        done = []
        with self.db.engine.begin() as conn:
            waiting = conn.execute(sa.select(ageout_t).where(ageout_t.c.state == AWAITING)).fetchall()
            for row in waiting:
                left = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(backup_links_t.join(backups_t, backups_t.c.id == backup_links_t.c.backup_id))
                    .where(backup_links_t.c.holder == row.holder, backups_t.c.gone_at.is_(None))
                ).scalar()
                if left == 0:
                    conn.execute(
                        sa.update(ageout_t)
                        .where(ageout_t.c.holder == row.holder)
                        .values(state=AGED_OUT, since=now)
                    )
                    self._audit(conn, row.holder, row.request_id, AGED_OUT, actor, now, {})
                    if row.request_id is not None:  # the controller is told: nothing of it is left
                        tenant = conn.execute(
                            sa.select(requests_t.c.tenant).where(requests_t.c.id == row.request_id)
                        ).scalar()
                        event = (tenant, "request.backups_aged_out", row.request_id, {}, None)
                        self.db.webhooks.queue(conn, [event], now)
                    done.append(row.holder)
        return done

    def _audit(
        self, conn, holder: str, request_id: int | None, event: str, actor: str, at: datetime, details: dict
    ) -> None:
        """A ledger event about a holder; for a request, with its tenant and subject references."""
        tenant, refs = None, []
        if request_id is not None:
            tenant = conn.execute(
                sa.select(requests_t.c.tenant).where(requests_t.c.id == request_id)
            ).scalar()
            refs = list(
                conn.execute(
                    sa.select(identities_t.c.ref).where(identities_t.c.request_id == request_id)
                ).scalars()
            )
        self.db.ledger.append(
            conn,
            at=at,
            actor=actor,
            event=event,
            tenant=tenant,
            request_id=request_id,
            subject_refs=refs,
            details={"holder": holder, **details},
        )

    # -- reading ------------------------------------------------------------------------------

    def state_of(self, holder: str) -> dict | None:
        """For `dsr status` and certificates: the age-out state and the backups still holding the data."""
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(ageout_t).where(ageout_t.c.holder == holder)).first()
            if row is None:
                return None
            backups = conn.execute(
                sa.select(backups_t)
                .join(backup_links_t, backup_links_t.c.backup_id == backups_t.c.id)
                .where(backup_links_t.c.holder == holder)
                .order_by(backups_t.c.taken_at)
            ).fetchall()
        return {
            "state": row.state,
            "since": row.since.isoformat(),
            "backups": [
                {
                    "store": b.store,
                    "name": b.name,
                    "taken_at": b.taken_at.isoformat(),
                    "due_by": b.due_by.isoformat(),
                    "gone_at": b.gone_at.isoformat() if b.gone_at else None,
                }
                for b in backups
            ],
        }

    def seen(self) -> list[dict]:
        """Every backup ever listed, by store and time taken."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(backups_t).order_by(backups_t.c.store, backups_t.c.taken_at)
            ).fetchall()
        return [dict(r._mapping) for r in rows]

    def last_scans(self) -> dict[str, dict]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(backup_scans_t).order_by(backup_scans_t.c.id)).fetchall()
        return {r.store: {"at": r.at, "error": r.error} for r in rows}

    def waiting(self) -> list[dict]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(ageout_t).order_by(ageout_t.c.holder)).fetchall()
        return [dict(r._mapping) for r in rows]
