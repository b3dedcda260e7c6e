"""Sampling a SQL table for discovery: a bounded, spread and repeatable sample, text cut in the database."""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING

import pyarrow as pa
import sqlalchemy as sa

from ..base import Sample
from .arrow import arrow_type

if TYPE_CHECKING:
    from .connector import SqlConnector

PROBES = 20  # index range reads per spread sample: its cost follows the sample, not the table


def sample(sql: SqlConnector, collection: str, n: int, max_chars: int) -> Sample:
    """Up to `n` rows spread over the table, text cut to `max_chars`.

    With an integer key (or SQLite's rowid) the sample is PROBES short index range reads at
    seeded random points between the smallest and largest key, so a re-run sees the same
    rows and a table of a million rows costs what one of ten thousand does. PostgreSQL
    tables without one use TABLESAMPLE SYSTEM; elsewhere they give their first rows.
    """
    table = sql.table(collection)
    key = _sample_key(sql, table)
    with sql.store_errors(f"sample {collection}"), sql.engine.connect() as conn:
        if key is not None:
            rows, method = _spread(conn, table, key, n, max_chars, f"{sql.name}/{collection}")
        elif sql.engine.dialect.name == "postgresql":
            rows, method = _tablesample(conn, table, n, max_chars)
        else:
            rows = conn.execute(sa.select(*_capped(table, max_chars)).limit(n)).fetchall()
            method = "all" if len(rows) < n else "first rows"
    return Sample(_sample_table(table, rows), method)


def _sample_key(sql: SqlConnector, table: sa.Table) -> sa.ColumnElement | None:
    pk = list(table.primary_key.columns)
    if len(pk) == 1 and isinstance(pk[0].type, sa.Integer):
        return pk[0]
    if sql.engine.dialect.name == "sqlite":
        return sa.literal_column("rowid")
    return None


def _spread(conn, table: sa.Table, key, n: int, max_chars: int, seed: str) -> tuple[list, str]:
    lo, hi = conn.execute(sa.select(sa.func.min(key), sa.func.max(key)).select_from(table)).one()
    stmt = sa.select(*_capped(table, max_chars), key.label("_sample_key")).order_by(key)
    if lo is None or hi - lo < n:
        rows = conn.execute(stmt.limit(n)).fetchall()
        return [r[:-1] for r in rows], "all" if len(rows) < n else "first rows"
    rng = random.Random(seed)
    per = -(-n // PROBES)
    seen: dict = {}
    for i in range(PROBES):
        start = lo + int((hi - lo) * (i + rng.random()) / PROBES)
        for row in conn.execute(stmt.where(key >= start).limit(per)):
            seen.setdefault(row[-1], row[:-1])
    return list(seen.values())[:n], "spread"


def _tablesample(conn, table: sa.Table, n: int, max_chars: int) -> tuple[list, str]:
    estimate = conn.execute(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
        {"t": table.fullname},
    ).scalar()
    if not estimate or estimate < 4 * n:
        rows = conn.execute(sa.select(*_capped(table, max_chars)).limit(n)).fetchall()
        return rows, "all" if len(rows) < n else "first rows"
    sampled = sa.tablesample(table, sa.func.system(min(100.0, 300.0 * n / estimate)))
    rows = conn.execute(sa.select(*_capped(sampled, max_chars)).limit(n)).fetchall()
    return rows, "spread"


def _capped(table, max_chars: int) -> list[sa.ColumnElement]:
    """Every column, with text and bytes cut to `max_chars` in the database, not after transfer."""
    out = []
    for col in table.columns:
        if isinstance(col.type, sa.String | sa.LargeBinary) and not isinstance(col.type, sa.Enum):
            out.append(sa.func.substr(col, 1, max_chars, type_=col.type).label(col.name))
        else:
            out.append(col)
    return out


def _plain(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)  # JSON columns are analysed as their text
    if isinstance(value, memoryview):
        return value.tobytes()
    return value


def _sample_table(table: sa.Table, rows: list) -> pa.Table:
    """Rows as Arrow; a column whose values do not fit its declared type (SQLite) becomes text."""
    arrays = []
    for i, col in enumerate(table.columns):
        values = [_plain(r[i]) for r in rows]
        arrow = arrow_type(col.type)
        try:
            arrays.append(pa.array(values, type=arrow) if arrow is not None else pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
    return pa.table(arrays, names=[c.name for c in table.columns])
