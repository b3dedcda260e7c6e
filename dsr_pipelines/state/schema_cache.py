"""Reflected schemas of SQL stores, kept between runs: a run whose store's catalogue fingerprint
matches the cached one uses the cached tables instead of reflecting them again.

The schema is sealed under the project's keys: it is only names and types, but it is loaded with
pickle, so only the key's holder may make one. One that does not open (another key, a rotation,
a changed row) is a miss, never an error: the store is reflected again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag

from .schema import schema_cache_t

if TYPE_CHECKING:
    from .db import StateDB


def _context(store: str) -> str:
    return f"schema:{store}"


class SchemaCache:
    def __init__(self, db: StateDB):
        self.db = db

    def get(self, store: str, fingerprint: str) -> bytes | None:
        """The schema cached for `store` at this fingerprint, or None."""
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(schema_cache_t).where(schema_cache_t.c.store == store)).first()
        if row is None or row.fingerprint != fingerprint:
            return None
        try:
            return self.db.keys.decrypt(row.schema, _context(store))
        except InvalidTag:
            return None

    def put(self, store: str, fingerprint: str, tables: int, schema: bytes) -> None:
        sealed = self.db.keys.encrypt(schema, _context(store))
        row = {"fingerprint": fingerprint, "tables": tables, "schema": sealed, "cached_at": self.db.clock()}
        try:
            with self.db.engine.begin() as conn:
                conn.execute(sa.delete(schema_cache_t).where(schema_cache_t.c.store == store))
                conn.execute(sa.insert(schema_cache_t).values(store=store, **row))
        except sa.exc.DBAPIError:
            pass  # a cache: another run kept the same store at the same moment, or the database is gone
