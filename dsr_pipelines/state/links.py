"""Links between stores, per request: the key tuples by which a subject's rows in one store reach
another (their customer id, found in the shop, reaches their events in the lake).

They are recorded, encrypted, before any store changes, so a re-run still reaches every store
after the first one erased the link, and removed once an erasure completes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import sqlalchemy as sa

from . import sealed
from .schema import links_t

if TYPE_CHECKING:
    from .db import StateDB


class Links:
    def __init__(self, db: StateDB):
        self.db = db

    def read(self, conn: sa.Connection, request_id: int) -> dict[str, tuple[tuple, ...]]:
        rows = conn.execute(
            sa.select(links_t).where(links_t.c.request_id == request_id, links_t.c.ciphertext.is_not(None))
        )
        decrypt = self.db.keys.decrypt
        return {
            r.link: tuple(
                tuple(t) for t in json.loads(decrypt(r.ciphertext, sealed.link(request_id, r.link)))
            )
            for r in rows
        }

    def save(self, links: Mapping[int, Mapping[str, Iterable[tuple]]]) -> int:
        """Add link keys to what each request already holds (never drops any); returns how many are new."""
        added = 0
        with self.db.engine.begin() as conn:
            for request_id, by_link in links.items():
                known = self.read(conn, request_id)
                for link, tuples in by_link.items():
                    before = set(known.get(link, ()))
                    merged = before | {tuple(t) for t in tuples}
                    if merged == before:
                        continue
                    added += len(merged - before)
                    blob = self.db.keys.encrypt(
                        json.dumps(sorted(merged, key=repr), default=str).encode(),
                        sealed.link(request_id, link),
                    )
                    conn.execute(
                        sa.delete(links_t).where(links_t.c.request_id == request_id, links_t.c.link == link)
                    )
                    conn.execute(sa.insert(links_t).values(request_id=request_id, link=link, ciphertext=blob))
        return added

    def count(self) -> int:
        with self.db.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(links_t)).scalar()
