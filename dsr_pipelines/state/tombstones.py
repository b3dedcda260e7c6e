"""Tombstones as records: keyed hashes of the primary keys of rows erasures removed, per store and
collection, and a check value of the key they were made with (so a replay under another key is
refused rather than silently matching nothing). Replaying them is `retain/tombstones.py`'s work.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..core.errors import DsrError
from .schema import tombstone_check_t, tombstones_t

if TYPE_CHECKING:
    from .db import StateDB

_CHECK = b"dsr tombstone key check"


@dataclass(frozen=True)
class Tombstone:
    request_id: int
    collection: str
    action: str  # delete or mask
    digest: str


class Tombstones:
    def __init__(self, db: StateDB):
        self.db = db

    @staticmethod
    def check_for(key: bytes) -> str:
        """The check value of a tombstone key: a replay under another key is refused by it."""
        return hmac.new(key, _CHECK, hashlib.sha256).hexdigest()

    def record(self, store: str, tombstones: Iterable[Tombstone]) -> int:
        rows = {(t.collection, t.digest): t for t in tombstones}
        if not rows:
            return 0
        with self.db.engine.begin() as conn:
            if conn.execute(sa.select(tombstone_check_t.c.check)).scalar() is None:
                conn.execute(
                    sa.insert(tombstone_check_t).values(
                        id=1, check=self.check_for(self.db.keys.tombstone_key)
                    )
                )
            # Only this batch's tombstones are looked for, along the primary key (store, collection,
            # digest): a store's tombstones grow with its history, a batch's cost must not.
            by_collection: dict[str, list[str]] = {}
            for collection, digest in sorted(rows):
                by_collection.setdefault(collection, []).append(digest)
            known = set()
            for collection, digests in by_collection.items():
                for start in range(0, len(digests), 1000):
                    query = sa.select(tombstones_t.c.collection, tombstones_t.c.digest).where(
                        tombstones_t.c.store == store,
                        tombstones_t.c.collection == collection,
                        tombstones_t.c.digest.in_(digests[start : start + 1000]),
                    )
                    known |= set(conn.execute(query).tuples())
            new = [
                {
                    "store": store,
                    "collection": t.collection,
                    "digest": t.digest,
                    "action": t.action,
                    "request_id": t.request_id,
                }
                for k, t in rows.items()
                if k not in known
            ]
            if new:
                conn.execute(sa.insert(tombstones_t), new)
        return len(new)

    def of_store(self, store: str) -> dict[str, dict[str, str]]:
        """Per collection, digest -> action; refused when the key is not the one they were made with."""
        with self.db.engine.connect() as conn:
            check = conn.execute(sa.select(tombstone_check_t.c.check)).scalar()
            rows = conn.execute(
                sa.select(tombstones_t.c.collection, tombstones_t.c.digest, tombstones_t.c.action).where(
                    tombstones_t.c.store == store
                )
            ).fetchall()
        if check is not None and not hmac.compare_digest(check, self.check_for(self.db.keys.tombstone_key)):
            raise DsrError("the key is not the one the tombstones were made with: nothing was replayed")
        wanted: dict[str, dict[str, str]] = {}
        for r in rows:
            wanted.setdefault(r.collection, {})[r.digest] = r.action
        return wanted
