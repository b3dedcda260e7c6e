"""An in-memory store of Arrow tables with keys and references: the domain's unit tests run on it.

It answers the part of the connector protocol that lookups, links and erasure plans use (`find`,
`collections`, `count`, `erase`), matching key tuples with the same Arrow code the lake and object
stores use. The end-to-end tests run on the real stores.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from connectors import (
    REDACTED,
    CollectionInfo,
    Delete,
    EraseCount,
    EraseOp,
    FieldInfo,
    ForeignKey,
    Mask,
)
from connectors.base import keyed_hash
from connectors.matching import matches, matches_any


class MemoryStore:
    def __init__(
        self,
        name: str,
        tables: Mapping[str, pa.Table],
        keys: Mapping[str, Sequence[str]] = {},
        references: Sequence[tuple[str, Sequence[str], str, Sequence[str]]] = (),
    ):
        """`references`: (collection, fields, referenced collection, referenced fields), as foreign keys."""
        self.name = name
        self.tables = dict(tables)
        self.keys = {c: tuple(k) for c, k in keys.items()}
        self.references = [(c, tuple(f), to, tuple(t)) for c, f, to, t in references]
        self.asked: list[str] = []  # collections in the order `find` was asked: one pass per round

    def ping(self) -> None:
        pass

    def close(self) -> None:
        pass

    def collections(self) -> list[CollectionInfo]:
        return [
            CollectionInfo(
                name,
                tuple(FieldInfo(f.name, str(f.type), True, pa.types.is_string(f.type)) for f in table.schema),
                self.keys.get(name, ()),
                tuple(ForeignKey(f, to, t) for c, f, to, t in self.references if c == name),
            )
            for name, table in self.tables.items()
        ]

    def count(self, collection: str) -> int:
        return self.tables[collection].num_rows

    def find(self, collection: str, keys: Sequence[pa.Table]) -> Iterator[pa.RecordBatch]:
        self.asked.append(collection)
        table = self.tables[collection]
        hit = table.filter(matches_any(table, list(keys)))
        yield from hit.to_batches()

    def erase(self, ops: Sequence[EraseOp]) -> list[EraseCount]:
        counts = []
        for op in ops:
            table = self.tables[op.collection]
            chosen = matches(table, op.keys)
            if isinstance(op.action, Delete):
                self.tables[op.collection] = table.filter(pc.invert(chosen))
            elif isinstance(op.action, Mask):
                for name, method in op.action.fields.items():
                    values = table[name].to_pylist()
                    for i in pc.indices_nonzero(chosen).to_pylist():
                        values[i] = _masked(method, values[i], op.action.hash_key)
                    table = table.set_column(table.schema.get_field_index(name), name, pa.array(values))
                self.tables[op.collection] = table
            counts.append(EraseCount(pc.sum(chosen).as_py() or 0))
        return counts


def _masked(method: str, value: object, key: bytes) -> object:
    if method == "null" or value is None:
        return None
    return REDACTED if method == "redact" else keyed_hash(key, value)
