"""Records reached through references: an order through its customer, a return through its order.

A collection that lacks something of its own (a restriction marker, a tenant field) gets it from
the nearest collection it follows a reference to. `path` finds that collection; `keys_down` starts
from keys of it and walks the references back down, one `find` per step, to the values of the
first collection's reference fields that select its records.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from connectors import Connector
from connectors.matching import distinct

from .datamap.model import CollectionSpec, Reference, StoreMap

Path = list[tuple[str, Reference]]  # (referencing collection, its reference), from the start upward


def path(store: StoreMap, collection: str, reached: Callable[[CollectionSpec], bool]) -> Path | None:
    """The followed references from `collection` up to the nearest collection `reached` accepts:
    empty when it is accepted itself, None when no such collection is reachable."""
    paths: dict[str, Path] = {collection: []}
    todo = [collection]
    while todo:
        name = todo.pop(0)
        spec = store.collections.get(name)
        if spec is None:
            continue
        if reached(spec):
            return paths[name]
        for ref in spec.local_references():
            if ref.follow and ref.to not in paths:
                paths[ref.to] = [*paths[name], (name, ref)]
                todo.append(ref.to)
    return None


def keys_down(connector: Connector, steps: Path, top_keys: pa.Table) -> pa.Table:
    """From keys of the collection at the top of `steps`, the values of the first collection's
    reference fields that point (through every step) at those records."""
    keys = top_keys
    for _, ref in reversed(steps):
        empty = pa.table({f: pa.array([], pa.string()) for f in ref.fields})
        if keys.num_rows == 0:
            return empty
        batches = [b for b in connector.find(ref.to, [keys]) if isinstance(b, pa.RecordBatch)]
        if not batches:
            return empty
        parents = pa.Table.from_batches(batches)
        keys = distinct(parents.select(ref.to_fields).rename_columns(ref.fields), ref.fields)
    return keys
