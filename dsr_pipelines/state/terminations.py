"""Terminations: a controller's contract ends, and after a grace period its data is purged.

`terminate` records the effective date and the grace period once per tenant; the purge is due
from their sum. States: `terminated` (waiting), `purging` (begun, or interrupted: run again),
`purged`. Every change is audited under the tenant.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..core.durations import Duration
from ..core.errors import TenantError
from .schema import terminations_t

if TYPE_CHECKING:
    from .db import StateDB


@dataclass(frozen=True)
class Termination:
    tenant: str
    effective_at: datetime
    grace: str | None
    due_at: datetime
    state: str
    terminated_at: datetime
    terminated_by: str
    purged_at: datetime | None


class Terminations:
    def __init__(self, db: StateDB):
        self.db = db

    def terminate(
        self,
        tenant: str,
        effective: datetime,
        grace: Duration | None,
        actor: str,
        known: Collection[str],
    ) -> Termination:
        if tenant not in known:
            listed = ", ".join(sorted(known)) or "none: declare them under tenants: in dsr.yaml"
            raise TenantError(f"unknown tenant {tenant!r} (known: {listed})")
        before = self.get(tenant)
        if before is not None:
            raise TenantError(
                f"tenant {tenant} was already terminated on {before.terminated_at:%Y-%m-%d} "
                f"(effective {before.effective_at:%Y-%m-%d}, {before.state})"
            )
        now = self.db.clock()
        due = grace.add_to(effective) if grace else effective
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.insert(terminations_t).values(
                    tenant=tenant,
                    effective_at=effective,
                    grace=str(grace) if grace else None,
                    due_at=due,
                    state="terminated",
                    terminated_at=now,
                    terminated_by=actor,
                )
            )
            self.db.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="tenant_terminated",
                tenant=tenant,
                details={
                    "effective": effective.isoformat(),
                    "grace": str(grace) if grace else None,
                    "purge_due": due.isoformat(),
                },
            )
        return self.get(tenant)

    def get(self, tenant: str) -> Termination | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(terminations_t).where(terminations_t.c.tenant == tenant)).first()
        return Termination(**row._mapping) if row else None

    def require(self, tenant: str) -> Termination:
        found = self.get(tenant)
        if found is None:
            raise TenantError(
                f"tenant {tenant} is not terminated (dsr tenant terminate {tenant} --effective DATE)"
            )
        return found

    def all(self) -> list[Termination]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(terminations_t).order_by(terminations_t.c.due_at)).fetchall()
        return [Termination(**r._mapping) for r in rows]

    def due(self, now: datetime | None = None) -> list[Termination]:
        """Terminations whose purge is due and not finished."""
        now = now or self.db.clock()
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(terminations_t)
                .where(terminations_t.c.state != "purged", terminations_t.c.due_at <= now)
                .order_by(terminations_t.c.tenant)
            ).fetchall()
        return [Termination(**r._mapping) for r in rows]

    def mark(self, tenant: str, state: str, actor: str, details: dict) -> None:
        now = self.db.clock()
        values = {"state": state} | ({"purged_at": now} if state == "purged" else {})
        with self.db.engine.begin() as conn:
            conn.execute(sa.update(terminations_t).where(terminations_t.c.tenant == tenant).values(values))
            self.db.ledger.append(
                conn, at=now, actor=actor, event=f"tenant_{state}", tenant=tenant, details=details
            )
