"""API keys as records: who a key belongs to (one tenant, or the operator), what it may do, until
when. The secret itself is never stored: only its SHA-256."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .schema import api_keys_t

if TYPE_CHECKING:
    from .db import StateDB


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    tenant: str | None  # None: an operator's key
    scopes: frozenset[str]
    secret_hash: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None

    def valid_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def _record(row) -> ApiKeyRecord:
    return ApiKeyRecord(
        row.id,
        row.tenant,
        frozenset(row.scopes.split()),
        row.secret_hash,
        row.created_at,
        row.created_by,
        row.expires_at,
        row.revoked_at,
        row.replaced_by,
    )


class ApiKeys:
    def __init__(self, db: StateDB):
        self.db = db

    def add(self, record: ApiKeyRecord, replacing: tuple[str, datetime] | None = None) -> None:
        """Store a new key; `replacing`: (old key id, when it stops), in the same transaction."""
        event = {"key": record.id, "scopes": sorted(record.scopes), "operator": record.tenant is None}
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.insert(api_keys_t).values(
                    id=record.id,
                    tenant=record.tenant,
                    scopes=" ".join(sorted(record.scopes)),
                    secret_hash=record.secret_hash,
                    created_at=record.created_at,
                    created_by=record.created_by,
                    expires_at=record.expires_at,
                )
            )
            if replacing is not None:
                old, until = replacing
                conn.execute(
                    sa.update(api_keys_t)
                    .where(api_keys_t.c.id == old)
                    .values(replaced_by=record.id, expires_at=until)
                )
                event["replaces"] = old
            self.db.ledger.append(
                conn,
                at=record.created_at,
                actor=record.created_by,
                event="api_key_created",
                tenant=record.tenant,
                details=event,
            )

    def get(self, key_id: str) -> ApiKeyRecord | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(api_keys_t).where(api_keys_t.c.id == key_id)).first()
        return _record(row) if row else None

    def list(self, tenant: str | None = None) -> list[ApiKeyRecord]:
        query = sa.select(api_keys_t).order_by(api_keys_t.c.created_at, api_keys_t.c.id)
        if tenant is not None:
            query = query.where(api_keys_t.c.tenant == tenant)
        with self.db.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query)]

    def revoke(self, key_id: str, actor: str) -> bool:
        """Revoke a key at once; False when it was revoked already."""
        now = self.db.clock()
        with self.db.engine.begin() as conn:
            row = conn.execute(sa.select(api_keys_t).where(api_keys_t.c.id == key_id)).first()
            if row is None or row.revoked_at is not None:
                return False
            conn.execute(sa.update(api_keys_t).where(api_keys_t.c.id == key_id).values(revoked_at=now))
            self.db.ledger.append(
                conn, at=now, actor=actor, event="api_key_revoked", tenant=row.tenant, details={"key": key_id}
            )
        return True
