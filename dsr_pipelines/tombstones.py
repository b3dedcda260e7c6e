"""Tombstones: what an erasure removed, kept as keyed hashes, so it can be replayed after a restore.

Every erasure records, per store and collection, an HMAC of the primary key of each row it deleted
or masked, never the key itself. When a store is restored from a backup taken before erasures,
`replay` reads the restored rows' keys, hashes them with the same key and applies the erasure
again to every row whose hash is a tombstone, before the store is used. A replay with another key
would match nothing and so silently erase nothing: it is refused, by a check value stored with the
first tombstone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from connectors import Delete, EraseOp, Mask, SqlConnector, is_masked

from .datamap import StoreMap, children_first
from .errors import DsrError
from .ledger import metadata
from .request_store import RequestStore

tombstones_t = sa.Table(
    "dsr_tombstones",
    metadata,
    sa.Column("store", sa.String(63), primary_key=True),
    sa.Column("collection", sa.String(200), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("action", sa.String(10), nullable=False),  # delete or mask
    sa.Column("request_id", sa.Integer, nullable=False),
)
tombstone_check_t = sa.Table(
    "dsr_tombstone_check",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("check", sa.String(64), nullable=False),
)
_CHECK = b"dsr tombstone key check"


@dataclass(frozen=True)
class Tombstone:
    request_id: int
    collection: str
    action: str
    digest: str


def digest(key: bytes, values: Sequence[object]) -> str:
    """The keyed hash of one row's primary key, from its values as text (ints, text, dates alike)."""
    text = json.dumps([str(v) for v in values])
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def for_rows(key: bytes, request_id: int, collection: str, action: str, rows: pa.Table, columns: list[str]):
    """Tombstones for the rows of one request in one collection (by their primary key)."""
    for values in zip(*(rows[c].to_pylist() for c in columns), strict=True):
        yield Tombstone(request_id, collection, action, digest(key, values))


class Tombstones:
    def __init__(self, requests: RequestStore):
        self.rs = requests
        metadata.create_all(requests.engine, tables=[tombstones_t, tombstone_check_t])

    def _check(self, key: bytes) -> str:
        return hmac.new(key, _CHECK, hashlib.sha256).hexdigest()

    def record(self, store: str, tombstones: Iterable[Tombstone]) -> int:
        rows = {(t.collection, t.digest): t for t in tombstones}
        if not rows:
            return 0
        key = self.rs.keys.tombstone_key
        with self.rs.engine.begin() as conn:
            if conn.execute(sa.select(tombstone_check_t.c.check)).scalar() is None:
                conn.execute(sa.insert(tombstone_check_t).values(id=1, check=self._check(key)))
            known = set(
                conn.execute(
                    sa.select(tombstones_t.c.collection, tombstones_t.c.digest).where(
                        tombstones_t.c.store == store
                    )
                ).tuples()
            )
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

    def replay(self, store: str, store_map: StoreMap, connector: SqlConnector, actor: str) -> dict[str, int]:
        """Erase again, in a restored store, every row an erasure had removed; rows per collection."""
        key = self.rs.keys.tombstone_key
        with self.rs.engine.connect() as conn:
            check = conn.execute(sa.select(tombstone_check_t.c.check)).scalar()
            rows = conn.execute(
                sa.select(tombstones_t.c.collection, tombstones_t.c.digest, tombstones_t.c.action).where(
                    tombstones_t.c.store == store
                )
            ).fetchall()
        if check is not None and not hmac.compare_digest(check, self._check(key)):
            raise DsrError("the key is not the one the tombstones were made with: nothing was replayed")
        wanted: dict[str, dict[str, str]] = {}
        for r in rows:
            wanted.setdefault(r.collection, {})[r.digest] = r.action
        ops = []
        for collection in children_first(store_map):
            if collection not in wanted:
                continue
            spec = store_map.collections[collection]
            columns, fields = list(spec.primary_key), spec.value_masks()
            rows = connector.column_values(collection, columns + [f for f in fields if f not in columns])
            tuples = zip(*(rows[c].to_pylist() for c in columns), strict=True)
            hashes = [digest(key, values) for values in tuples]
            for action in ("delete", "mask"):
                hit = pa.array([wanted[collection].get(h) == action for h in hashes], pa.bool_())
                if action == "mask":  # a row masked already (a second replay) is left as it is
                    hit = pc.and_(hit, pc.invert(_masked(rows, fields)))
                chosen = rows.filter(hit).select(columns)
                if chosen.num_rows:
                    how = Delete() if action == "delete" else Mask(fields, self.rs.keys.mask_key)
                    ops.append(EraseOp(collection, chosen, how))
        counts = connector.erase(ops) if ops else []
        done: dict[str, int] = {}
        for op, count in zip(ops, counts, strict=True):
            done[op.collection] = done.get(op.collection, 0) + count.changed
        with self.rs.engine.begin() as conn:
            self.rs.ledger.append(
                conn,
                at=self.rs.clock(),
                actor=actor,
                event="erasures_replayed",
                details={"store": store, "rows": done, "tombstones": len(rows)},
            )
        return done


def _masked(rows: pa.Table, fields: dict[str, str]) -> pa.Array:
    """Rows whose every personal field is already in a masked state."""
    done = pa.array([True] * rows.num_rows, pa.bool_())
    for name in fields:
        done = pc.and_(done, is_masked(rows[name]))
    return done
