"""Archived records as records: what a purge archived for a legal obligation, and until when.

The files themselves are written and read by `retain/archive.py`; this is their inventory, so the
daily sweep can delete each one when its obligation ends, audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .schema import archives_t

if TYPE_CHECKING:
    from .db import StateDB


@dataclass(frozen=True)
class Archived:
    path: str
    archive_store: str
    tenant: str
    store: str
    collection: str
    records: int
    rule: str
    legal_basis: str
    until: datetime


class Archives:
    def __init__(self, db: StateDB):
        self.db = db

    def record(self, item: Archived) -> None:
        """One archive file written (again, after a crash: it is named by its content)."""
        with self.db.engine.begin() as conn:
            conn.execute(sa.delete(archives_t).where(archives_t.c.path == item.path))
            conn.execute(sa.insert(archives_t).values(**vars(item), written_at=self.db.clock()))

    def due(self, now: datetime) -> list[Archived]:
        """Archives whose obligation has ended and that are not yet deleted."""
        return self._select(archives_t.c.until <= now)

    def present(self) -> list[Archived]:
        """Every archive file not deleted."""
        return self._select(sa.true())

    def _select(self, condition) -> list[Archived]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(archives_t)
                .where(archives_t.c.deleted_at.is_(None), condition)
                .order_by(archives_t.c.path)
            ).fetchall()
        fields = Archived.__dataclass_fields__
        return [Archived(**{k: v for k, v in r._mapping.items() if k in fields}) for r in rows]

    def deleted(self, item: Archived, now: datetime, actor: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(sa.update(archives_t).where(archives_t.c.path == item.path).values(deleted_at=now))
            self.db.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="archive_expired",
                tenant=item.tenant,
                details={
                    "store": item.store,
                    "collection": item.collection,
                    "records": item.records,
                    "rule": item.rule,
                },
            )
