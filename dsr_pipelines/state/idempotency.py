"""Idempotent submission: a controller's Idempotency-Key, remembered with the requests it made.

Key and body are kept as keyed hashes only (a body holds identities). The record is written in the
transaction that stores the requests, so two retries racing with one key cannot both submit: the
second fails on the primary key and reads what the first made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .schema import idempotency_t

if TYPE_CHECKING:
    from .db import StateDB


@dataclass(frozen=True)
class IdempotencyKey:
    tenant: str
    key_ref: str  # keyed hash of the header's value
    body_ref: str  # keyed hash of the canonical body


@dataclass(frozen=True)
class Remembered:
    body_ref: str
    request_ids: list[int]


class Idempotency:
    def __init__(self, db: StateDB):
        self.db = db

    def find(self, tenant: str, key_ref: str) -> Remembered | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                sa.select(idempotency_t.c.body_ref, idempotency_t.c.request_ids).where(
                    idempotency_t.c.tenant == tenant, idempotency_t.c.key_ref == key_ref
                )
            ).first()
        return Remembered(row.body_ref, json.loads(row.request_ids)) if row else None

    def count(self) -> int:
        with self.db.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(idempotency_t)).scalar_one()

    def remember(self, conn: sa.Connection, key: IdempotencyKey, request_ids: list[int], now) -> None:
        """In the caller's transaction (the one storing the requests); a key used already raises
        IntegrityError and rolls the submission back."""
        conn.execute(
            sa.insert(idempotency_t).values(
                tenant=key.tenant,
                key_ref=key.key_ref,
                body_ref=key.body_ref,
                request_ids=json.dumps(request_ids),
                created_at=now,
            )
        )
