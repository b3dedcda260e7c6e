"""Legal holds as records: who placed them on what, why, until when, and which requests they deferred.

A hold covers one subject of a tenant (by identity, kept encrypted) or one collection of a store.
What a hold keeps in the stores is decided in `retain/holds.py`; every change here is audited,
with the hold's scope and never its reason's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..core.errors import DsrError
from ..core.identities import Identity
from . import sealed
from .requests import Subject
from .schema import holds_t, request_holds_t, requests_t

if TYPE_CHECKING:
    from .db import StateDB


class HoldError(DsrError):
    pass


class UnknownHold(HoldError):
    pass


@dataclass(frozen=True)
class Hold:
    id: int
    tenant: str
    identity_kind: str | None
    identity_ref: str | None
    store: str | None
    collection: str | None
    reason: str
    until: datetime | None
    created_at: datetime
    created_by: str
    released_at: datetime | None = None
    released_by: str | None = None
    sealed_identity: bytes | None = field(default=None, repr=False, compare=False)  # encrypted value

    @property
    def name(self) -> str:
        return f"legal hold {self.id}"

    @property
    def scope(self) -> str:
        if self.identity_kind:
            return f"subject ({self.identity_kind} ref {self.identity_ref[:12]})"
        return f"{self.store}.{self.collection}"

    def active(self, now: datetime) -> bool:
        return self.released_at is None and (self.until is None or now < self.until)

    def covers(self, store: str, collection: str) -> bool:
        return self.identity_kind is None and (self.store, self.collection) == (store, collection)


class Holds:
    """Holds in the state database, audited in its ledger."""

    def __init__(self, db: StateDB):
        self.db = db

    def add(
        self,
        tenant: str,
        reason: str,
        actor: str,
        *,
        identity: Identity | None = None,
        store: str | None = None,
        collection: str | None = None,
        until: datetime | None = None,
    ) -> int:
        if not tenant.strip():
            raise HoldError("a hold needs a tenant")
        if not reason.strip():
            raise HoldError("a hold needs a reason")
        if (identity is None) == (store is None or collection is None):
            raise HoldError(
                "a hold covers either a subject (--identity) or a collection (--store and --collection)"
            )
        now = self.db.clock()
        if until is not None and until <= now:
            raise HoldError(f"--until {until.date()} is not in the future")
        ref = self.db.keys.subject_ref(identity) if identity else None
        with self.db.engine.begin() as conn:
            hold_id = conn.execute(
                sa.insert(holds_t).values(
                    tenant=tenant,
                    identity_kind=identity.kind if identity else None,
                    identity_ref=ref,
                    store=store,
                    collection=collection,
                    reason=reason,
                    until=until,
                    created_at=now,
                    created_by=actor,
                )
            ).inserted_primary_key[0]
            if identity is not None:
                blob = self.db.keys.encrypt(identity.value.encode(), sealed.hold_identity(hold_id))
                conn.execute(sa.update(holds_t).where(holds_t.c.id == hold_id).values(ciphertext=blob))
            # The reason is the operator's free text: kept with the hold, not copied into the ledger.
            details = {"hold": hold_id, "until": until.isoformat() if until else None}
            details |= (
                {"identity_kind": identity.kind} if identity else {"store": store, "collection": collection}
            )
            self.db.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="hold_added",
                tenant=tenant,
                subject_refs=[ref] if ref else [],
                details=details,
            )
        return int(hold_id)

    def release(self, hold_id: int, actor: str) -> Hold:
        hold = self.get(hold_id)
        if hold.released_at is not None:
            raise HoldError(f"legal hold {hold_id} was already released on {hold.released_at.date()}")
        now = self.db.clock()
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.update(holds_t).where(holds_t.c.id == hold_id).values(released_at=now, released_by=actor)
            )
            self.db.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="hold_released",
                tenant=hold.tenant,
                subject_refs=[hold.identity_ref] if hold.identity_ref else [],
                details={"hold": hold_id},
            )
        return self.get(hold_id)

    def get(self, hold_id: int) -> Hold:
        found = self._select(holds_t.c.id == hold_id)
        if not found:
            raise UnknownHold(f"no legal hold {hold_id}")
        return found[0]

    def list(self, tenant: str | None = None) -> list[Hold]:
        return self._select(holds_t.c.tenant == tenant if tenant else sa.true())

    def active(self, tenant: str | None = None) -> list[Hold]:
        now = self.db.clock()
        return [h for h in self.list(tenant) if h.active(now)]

    def _select(self, condition) -> list[Hold]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(holds_t).where(condition).order_by(holds_t.c.id)).fetchall()
        return [
            Hold(
                r.id,
                r.tenant,
                r.identity_kind,
                r.identity_ref,
                r.store,
                r.collection,
                r.reason,
                r.until,
                r.created_at,
                r.created_by,
                r.released_at,
                r.released_by,
                r.ciphertext,
            )
            for r in rows
        ]

    def subjects(self, holds: Sequence[Hold]) -> list[Subject]:
        """The held subjects, for finding their records; numbered -hold id so they never meet a request."""
        out = []
        for hold in holds:
            if hold.identity_kind and hold.sealed_identity is not None:
                value = self.db.keys.decrypt(hold.sealed_identity, sealed.hold_identity(hold.id)).decode()
                out.append(Subject(-hold.id, hold.tenant, (Identity(hold.identity_kind, value),)))
        return out

    # -- requests the holds deferred --------------------------------------------------------

    def defer(self, request_id: int, store: str, holds: Sequence[Hold]) -> None:
        with self.db.engine.begin() as conn:
            for hold in holds:
                key = {"request_id": request_id, "hold_id": hold.id, "store": store}
                exists = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(request_holds_t)
                    .where(*(request_holds_t.c[k] == v for k, v in key.items()))
                ).scalar()
                if not exists:
                    conn.execute(sa.insert(request_holds_t).values(key))

    def deferring(self, request_id: int) -> list[Hold]:
        with self.db.engine.connect() as conn:
            ids = sorted(
                set(
                    conn.execute(
                        sa.select(request_holds_t.c.hold_id).where(request_holds_t.c.request_id == request_id)
                    ).scalars()
                )
            )
        return [self.get(i) for i in ids]

    def ready(self) -> list[int]:
        """Partially completed requests held back by holds none of which is still active: to run again."""
        now = self.db.clock()
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(request_holds_t.c.request_id, request_holds_t.c.hold_id)
                .join(requests_t, requests_t.c.id == request_holds_t.c.request_id)
                .where(requests_t.c.state == "partially_completed")
            ).fetchall()
        by_request: dict[int, set[int]] = {}
        for r in rows:
            by_request.setdefault(r.request_id, set()).add(r.hold_id)
        holds = {h.id: h for h in self.list()}
        return sorted(r for r, ids in by_request.items() if not any(holds[i].active(now) for i in ids))
