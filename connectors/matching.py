"""Which records of an Arrow table match key tuples: vectorised, for the object and lake stores.

Keys arrive as text (identities) or as the types of another store (linked ids), while a file
holds its own types; values are compared in the file's type where they convert, else as text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .base import HASH_PREFIX, REDACTED, SOURCE, EraseOp


def _value_type(kind: pa.DataType) -> pa.DataType:
    return kind.value_type if pa.types.is_dictionary(kind) else kind


def _comparable(column: pa.ChunkedArray | pa.Array, values: pa.Array) -> tuple:
    """`column` and `values` in one type: the column's where every value converts, else text."""
    target = _value_type(column.type)
    values = values.drop_null()
    if values.type == target:
        return column, values
    try:
        return column, pc.cast(values, target)
    except pa.ArrowInvalid:  # some keys do not convert ("ann" for an integer column): they cannot match
        kept = []
        for value in values:
            try:
                kept.append(pc.cast(pa.array([value.as_py()], values.type), target)[0].as_py())
            except pa.ArrowInvalid:
                continue
        return column, pa.array(kept, target)
    except pa.ArrowNotImplementedError:
        return pc.cast(column, pa.string()), pc.cast(values, pa.string())


def _join_text(table: pa.Table, names: Sequence[str]) -> pa.Table:
    return pa.table({f"_k{i}": pc.cast(table[n], pa.string()) for i, n in enumerate(names)})


def matches(table: pa.Table, keys: pa.Table) -> pa.Array:
    """Per row of `table`: is its tuple of `keys.column_names` one of the rows of `keys`?"""
    names = keys.column_names
    if table.num_rows == 0 or keys.num_rows == 0:
        return none_of(table.num_rows)
    hit = None
    for name in names:
        column, values = _comparable(table[name], keys[name])
        one = pc.is_in(column, value_set=values).fill_null(False)
        hit = one if hit is None else pc.and_(hit, one)
    hit = hit.combine_chunks() if isinstance(hit, pa.ChunkedArray) else hit
    if len(names) == 1:
        return hit
    # Each column matched some key; the tuple must match one key. Only candidates are joined.
    candidates = pc.indices_nonzero(hit)
    if len(candidates) == 0:
        return hit
    left = _join_text(table.take(candidates), names).append_column("_pos", candidates)
    on = [f"_k{i}" for i in range(len(names))]
    right = _join_text(keys, names).group_by(on).aggregate([])
    joined = left.join(right, keys=on, join_type="inner", use_threads=False)
    return mask_at(table.num_rows, joined["_pos"].to_numpy())


def with_join_keys(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """`table` with `_k0`, `_k1`, ... holding `columns` as text: join keys that meet across types."""
    for i, name in enumerate(columns):
        table = table.append_column(f"_k{i}", pc.cast(table[name], pa.string()))
    return table


def drop_join_keys(table: pa.Table, n: int) -> pa.Table:
    return table.drop_columns([f"_k{i}" for i in range(n)])


def unique_rows(table: pa.Table) -> pa.Table:
    return table.group_by(table.column_names, use_threads=False).aggregate([])


def distinct(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """The first row of each distinct tuple of `columns` (other columns may be of any type)."""
    keyed = with_join_keys(table.select(list(columns)), columns).drop_columns(list(columns))
    keyed = keyed.append_column("_i", pa.array(range(table.num_rows), pa.int64()))
    on = [f"_k{i}" for i in range(len(columns))]
    first = keyed.group_by(on, use_threads=False).aggregate([("_i", "min")])["_i_min"]
    return table.take(pc.take(first, pc.sort_indices(first)))


def none_of(n: int) -> pa.Array:
    return pa.array(np.zeros(n, dtype=bool))


def mask_at(n: int, positions) -> pa.Array:
    """A boolean array of length `n`, true at `positions`."""
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(positions, dtype=np.int64)] = True
    return pa.array(mask)


def matches_any(table: pa.Table, keys: Sequence[pa.Table]) -> pa.Array:
    """Rows matching any key table; tables naming a column `table` lacks cannot match."""
    hit = None
    for k in keys:
        if all(n in table.column_names for n in k.column_names):
            one = matches(table, k)
            hit = one if hit is None else pc.or_(hit, one)
    return none_of(table.num_rows) if hit is None else hit


def key_text(keys: Sequence[pa.Table], columns: Sequence[str] | None = None) -> set[str]:
    """Every distinct non-null key value as text (what a text search looks for)."""
    out: set[str] = set()
    for k in keys:
        for name in k.column_names:
            if columns is None or name in columns:
                out.update(v for v in pc.cast(k[name], pa.string()).drop_null().to_pylist() if v)
    return out


def for_source(keys: Sequence[pa.Table], source: str, restrict: bool = True) -> list[pa.Table]:
    """The key tables that concern one object or file, without their `_source` column.

    A table naming sources keeps only its rows for `source` (all of them without `restrict`);
    a table naming none concerns every object or file.
    """
    out = []
    for k in keys:
        if SOURCE in k.column_names:
            if restrict:
                k = k.filter(pc.equal(k[SOURCE], source))
            k = k.drop_columns([SOURCE])
        if k.num_rows:
            out.append(k)
    return out


def by_collection(ops: Sequence[EraseOp]) -> dict[str, list[int]]:
    """Positions of the operations on each collection, in order."""
    out: dict[str, list[int]] = {}
    for i, op in enumerate(ops):
        out.setdefault(op.collection, []).append(i)
    return out


def is_masked(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Which values are in a masked state (null, redacted or hashed): used by verification probes."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return pc.is_null(values)
    return pc.or_kleene(
        pc.is_null(values),
        pc.or_(pc.equal(values, REDACTED), pc.starts_with(values, HASH_PREFIX)),
    ).fill_null(True)
