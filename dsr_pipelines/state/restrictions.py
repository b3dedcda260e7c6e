"""Restrictions of processing as records: per restriction request, store and collection, which
records it covers and which of them were marked before it (both encrypted Arrow tables: keys can
be personal), and whether (and by which request) it was lifted. Marking and lifting in the stores
is `retain/restriction.py`'s work.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from . import sealed
from .schema import identities_t, requests_t, restrictions_t

if TYPE_CHECKING:
    import pyarrow as pa

    from .db import StateDB


@dataclass(frozen=True)
class Record:
    request_id: int
    collection: str
    covered: pa.Table
    previous: pa.Table


class Restrictions:
    """What each restriction covers, per store and collection."""

    def __init__(self, db: StateDB):
        self.db = db

    # pyarrow is imported where covered records are read or written: every command opens the
    # state database, and `dsr status` or `dsr list` should not pay for it.
    def _seal(self, table: pa.Table, context: str) -> bytes:
        import pyarrow.ipc as ipc

        sink = io.BytesIO()
        with ipc.new_stream(sink, table.schema) as stream:
            stream.write_table(table)
        return self.db.keys.encrypt(sink.getvalue(), context)

    def _open(self, blob: bytes, context: str) -> pa.Table:
        import pyarrow.ipc as ipc

        return ipc.open_stream(self.db.keys.decrypt(blob, context)).read_all()

    def record(
        self, request_id: int, store: str, collection: str, covered: pa.Table, previous: pa.Table
    ) -> None:
        """Remember what a restriction covers; a re-run adds to it and keeps the first `previous`."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from connectors.matching import distinct, matches

        where = (
            restrictions_t.c.request_id == request_id,
            restrictions_t.c.store == store,
            restrictions_t.c.collection == collection,
        )
        covered_at = sealed.restriction(request_id, store, collection, "covered")
        previous_at = sealed.restriction(request_id, store, collection, "previous")
        with self.db.engine.begin() as conn:
            old = conn.execute(sa.select(restrictions_t).where(*where)).first()
            if old is not None:
                before = self._open(old.covered, covered_at)
                first = self._open(old.previous, previous_at)
                fresh = previous.filter(pc.invert(matches(previous, before))) if before.num_rows else previous
                previous = pa.concat_tables([first, fresh.cast(first.schema)]) if first.num_rows else fresh
                covered = (
                    pa.concat_tables([before, covered.cast(before.schema)]) if before.num_rows else covered
                )
                covered = distinct(covered, covered.column_names)
                conn.execute(sa.delete(restrictions_t).where(*where))
            conn.execute(
                sa.insert(restrictions_t).values(
                    request_id=request_id,
                    store=store,
                    collection=collection,
                    covered=self._seal(covered, covered_at),
                    previous=self._seal(previous, previous_at),
                    records=covered.num_rows,
                )
            )

    def active(self, store: str) -> list[Record]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(restrictions_t).where(
                    restrictions_t.c.store == store, restrictions_t.c.lifted_by.is_(None)
                )
            ).fetchall()
        out = []
        for r in rows:
            covered = self._open(r.covered, sealed.restriction(r.request_id, store, r.collection, "covered"))
            previous = self._open(
                r.previous, sealed.restriction(r.request_id, store, r.collection, "previous")
            )
            out.append(Record(r.request_id, r.collection, covered, previous))
        return out

    def of_subject(self, tenant: str, refs: Sequence[str]) -> list[int]:
        """Restriction requests of this tenant, naming one of the subject's references, not yet lifted."""
        with self.db.engine.connect() as conn:
            ids = conn.execute(
                sa.select(restrictions_t.c.request_id)
                .join(requests_t, requests_t.c.id == restrictions_t.c.request_id)
                .join(identities_t, identities_t.c.request_id == requests_t.c.id)
                .where(
                    requests_t.c.tenant == tenant,
                    requests_t.c.type == "restriction",
                    identities_t.c.ref.in_(list(refs)),
                    restrictions_t.c.lifted_by.is_(None),
                )
            ).scalars()
            return sorted(set(ids))

    def lifted(self, request_id: int, store: str, collection: str, by: int, at: datetime) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.update(restrictions_t)
                .where(
                    restrictions_t.c.request_id == request_id,
                    restrictions_t.c.store == store,
                    restrictions_t.c.collection == collection,
                )
                .values(lifted_by=by, lifted_at=at)
            )

    def state(self, request_id: int) -> dict:
        """For `dsr status`: per store and collection, how many records and whether lifted (by whom)."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(restrictions_t).where(
                    sa.or_(
                        restrictions_t.c.request_id == request_id, restrictions_t.c.lifted_by == request_id
                    )
                )
            ).fetchall()
        return {
            f"{r.store}.{r.collection}": {
                "restriction": r.request_id,
                "records": r.records,
                "state": "lifted" if r.lifted_by else "active",
                **({"lifted_by": r.lifted_by, "lifted_at": r.lifted_at.isoformat()} if r.lifted_by else {}),
            }
            for r in rows
        }
