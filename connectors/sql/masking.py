"""Masking SQL rows: null, a fixed redaction or a keyed hash, in the caller's transaction."""

from __future__ import annotations

import pyarrow as pa
import sqlalchemy as sa

from ..base import HASH_PREFIX, REDACTED, Mask, keyed_hash
from .arrow import is_text


def mask_where(conn: sa.Connection, table: sa.Table, condition, mask: Mask) -> int:
    """Mask the rows `condition` selects: fixed values in one UPDATE, keyed hashes row by row."""
    fixed = {
        name: (REDACTED if method == "redact" and is_text(table.c[name].type) else None)
        for name, method in mask.fields.items()
        if method != "hash" or not is_text(table.c[name].type)
    }
    hashed = [n for n in mask.fields if n not in fixed]
    # Both updates touch the same rows; either count is the number of rows masked.
    n_fixed = conn.execute(sa.update(table).where(condition).values(fixed)).rowcount if fixed else 0
    n_hashed = _mask_hashed(conn, table, condition, hashed, mask.hash_key) if hashed else 0
    return max(n_fixed, n_hashed)


def _mask_hashed(conn, table: sa.Table, condition, names: list[str], key: bytes) -> int:
    pk = [c.name for c in table.primary_key.columns] or names  # no key: match on the old values
    rows = conn.execute(sa.select(*(table.c[n] for n in pk + names)).where(condition)).fetchall()
    keys = pa.table({n: [r[i] for r in rows] for i, n in enumerate(pk)})
    hashed = {
        name: [
            None if r[len(pk) + j] is None else _fit(keyed_hash(key, r[len(pk) + j]), table.c[name].type)
            for r in rows
        ]
        for j, name in enumerate(names)
    }
    return update_rows(
        conn, table, keys, pa.table(hashed, schema=pa.schema([(n, pa.string()) for n in names]))
    )


def update_rows(conn: sa.Connection, table: sa.Table, keys: pa.Table, values: pa.Table) -> int:
    """One UPDATE per row (executemany): row i of `keys` picks the row, row i of `values` is what it gets."""
    where = sa.and_(*(table.c[k] == sa.bindparam(f"k_{i}") for i, k in enumerate(keys.column_names)))
    stmt = sa.update(table).where(where).values({f: sa.bindparam(f"v_{f}") for f in values.column_names})
    params = [
        {**{f"k_{i}": v for i, v in enumerate(k.values())}, **{f"v_{f}": v for f, v in new.items()}}
        for k, new in zip(keys.to_pylist(), values.to_pylist(), strict=True)
    ]
    if params:
        conn.execute(stmt, params)
    return len(params)


def unmasked(table: sa.Table, mask: Mask) -> sa.ColumnElement[bool]:
    """Rows where some field still holds a value the mask would remove."""
    conditions = []
    for name in mask.fields:
        col = table.c[name]
        if is_text(col.type):
            conditions.append(
                sa.and_(col.is_not(None), col != REDACTED, sa.not_(col.startswith(HASH_PREFIX)))
            )
        else:
            conditions.append(col.is_not(None))
    return sa.or_(*conditions)


def _fit(value: str, sql_type: sa.types.TypeEngine) -> str:
    length = getattr(sql_type, "length", None)
    return value[:length] if length else value
