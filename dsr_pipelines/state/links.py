"""Links between stores, per request: the key tuples by which a subject's rows in one store reach
another (their customer id, found in the shop, reaches their events in the lake).

They are recorded, encrypted, before any store changes, so a re-run still reaches every store
after the first one erased the link, and removed once an erasure completes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
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
        return self.read_many(conn, [request_id])[request_id]

    def read_many(
        self, conn: sa.Connection, request_ids: Sequence[int]
    ) -> dict[int, dict[str, tuple[tuple, ...]]]:
        """Each request's link keys, by link, in one query."""
        out: dict[int, dict[str, tuple[tuple, ...]]] = {r: {} for r in request_ids}
        rows = conn.execute(
            sa.select(links_t).where(
                links_t.c.request_id.in_(list(request_ids)), links_t.c.ciphertext.is_not(None)
            )
        )
        decrypt = self.db.keys.decrypt
        for r in rows:
            keys = json.loads(decrypt(r.ciphertext, sealed.link(r.request_id, r.link)))
            out[r.request_id][r.link] = tuple(tuple(t) for t in keys)
        return out

    def save(self, links: Mapping[int, Mapping[str, Iterable[tuple]]]) -> int:
        """Add link keys to what each request already holds (never drops any); returns how many are new."""
        added = 0
        with self.db.engine.begin() as conn:
            known_by_request = self.read_many(conn, list(links))
            for request_id, by_link in links.items():
                known = known_by_request[request_id]
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
