"""Tombstones: what an erasure removed, kept as keyed hashes, so it can be replayed after a restore.

Every erasure records, per store and collection, an HMAC of the primary key of each row it deleted
or masked, never the key itself. When a store is restored from a backup taken before erasures,
`replay` reads the restored rows' keys, hashes them with the same key and applies the erasure
again to every row whose hash is a tombstone, before the store is used. A replay with another key
would match nothing and so silently erase nothing: the state database refuses it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii

import pyarrow as pa
import pyarrow.compute as pc

from connectors import Delete, EraseOp, Mask, SqlConnector
from connectors.matching import is_masked

from ..plan.datamap.graph import children_first
from ..plan.datamap.model import StoreMap
from ..plan.lookup import REQUEST
from ..state.db import StateDB
from ..state.tombstones import Tombstone


def digest(key: bytes, values: Sequence[object]) -> str:
    """The keyed hash of one row's primary key, from its values as text (ints, text, dates alike)."""
    # json.dumps([str(v) for v in values]) without the encoder's machinery (a batch hashes every
    # row it erased): the same bytes, which the tombstones already stored depend on.
    text = "[" + ", ".join(encode_basestring_ascii(str(v)) for v in values) + "]"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def for_rows(key: bytes, collection: str, action: str, rows: pa.Table, columns: list[str]) -> list[Tombstone]:
    """Tombstones for rows of many requests in one collection (by their primary key), each row
    with the request in its `request` column."""
    requests = rows[REQUEST].to_pylist()
    keys = zip(*(rows[c].to_pylist() for c in columns), strict=True)
    return [
        Tombstone(request_id, collection, action, digest(key, values))
        for request_id, values in zip(requests, keys, strict=True)
    ]


def replay(
    db: StateDB, store: str, store_map: StoreMap, connector: SqlConnector, actor: str
) -> dict[str, int]:
    """Erase again, in a restored store, every row an erasure had removed; rows per collection."""
    key = db.keys.tombstone_key
    wanted = db.tombstones.of_store(store)
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
                how = Delete() if action == "delete" else Mask(fields, db.keys.mask_key)
                ops.append(EraseOp(collection, chosen, how))
    counts = connector.erase(ops) if ops else []
    done: dict[str, int] = {}
    for op, count in zip(ops, counts, strict=True):
        done[op.collection] = done.get(op.collection, 0) + count.changed
    db.ledger.record(
        at=db.clock(),
        actor=actor,
        event="erasures_replayed",
        details={"store": store, "rows": done, "tombstones": sum(len(v) for v in wanted.values())},
    )
    return done


def _masked(rows: pa.Table, fields: dict[str, str]) -> pa.Array:
    """Rows whose every personal field is already in a masked state."""
    done = pa.array([True] * rows.num_rows, pa.bool_())
    for name in fields:
        done = pc.and_(done, is_masked(rows[name]))
    return done
