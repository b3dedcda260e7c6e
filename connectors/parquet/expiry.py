"""Retention in a lake: how old a file's records are, and which of them a sweep removes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..ages import parse_moment
from ..base import RECORD, Age, Expiry, Mask, StoreError
from ..matching import for_source, is_masked, matches_any
from .files import DatasetFile
from .reading import with_partitions


def naive(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return datetime(value.year, value.month, value.day)


def span(pf: pq.ParquetFile, f: DatasetFile, age: Age) -> tuple[datetime, datetime] | None:
    """The oldest and newest age in a file without reading its rows, or None when unknown.

    A partition value dates every row; a column is dated by its row-group statistics.
    """
    if age.ageless:
        return None
    if age.partition is not None:
        value = dict(f.partitions).get(age.partition)
        moment = parse_moment(value) if value is not None else None
        if moment is None:
            raise StoreError(f"partition {age.partition}: a file's value is missing or not a date")
        return moment, moment
    names = pf.schema_arrow.names
    if age.field not in names:
        raise StoreError(f"a file has no column {age.field}")
    index = pf.metadata.schema.to_arrow_schema().get_field_index(age.field)
    lows, highs = [], []
    for i in range(pf.metadata.num_row_groups):
        column = pf.metadata.row_group(i).column(index)
        stats = column.statistics
        if stats is None or not stats.has_min_max:
            return None
        lows.append(stats.min)
        highs.append(stats.max)
    if not lows:
        return None
    if not isinstance(lows[0], date):
        raise StoreError(f"column {age.field} is not a date or timestamp column")
    return naive(min(lows)), naive(max(highs))


def _cutoff_for(kind: pa.DataType, cutoff: datetime) -> pa.Scalar:
    if pa.types.is_timestamp(kind):
        return pa.scalar(cutoff.replace(tzinfo=UTC) if kind.tz else cutoff, kind)
    if pa.types.is_date(kind):
        return pa.scalar(cutoff.date(), kind)
    raise StoreError("the age column is not a date or timestamp column")


def selection(table: pa.Table, f: DatasetFile, expiry: Expiry) -> tuple[pa.Array, pa.Array]:
    """Per row: expired, and expired but kept (held or restricted, or already masked)."""
    n = table.num_rows
    if expiry.age.field is not None:
        column = table[expiry.age.field]
        expired = pc.less(column, _cutoff_for(column.type, expiry.cutoff)).fill_null(False)
    else:
        expired = pa.array(np.ones(n, dtype=bool))
    if expiry.only:
        names = [c for k in expiry.only for c in k.column_names]
        expired = pc.and_(expired, matches_any(with_partitions(table, f, names), expiry.only))
    keep = for_source(expiry.keep, f.source)
    names = [c for k in keep for c in k.column_names]
    probe = with_partitions(table, f, names)
    if RECORD in names:
        probe = probe.append_column(RECORD, pa.array(np.arange(n, dtype=np.int64)))
    kept = matches_any(probe, keep)
    if isinstance(expiry.action, Mask):
        present = [name for name in expiry.action.fields if name in table.column_names]
        done = None
        for name in present:
            one = is_masked(table[name])
            done = one if done is None else pc.and_(done, one)
        if done is not None:
            kept = pc.or_(kept, done)
    expired = expired.combine_chunks() if isinstance(expired, pa.ChunkedArray) else expired
    kept = kept.combine_chunks() if isinstance(kept, pa.ChunkedArray) else kept
    return expired, pc.and_(expired, kept)


def ages_of(table: pa.Table, f: DatasetFile, age: Age, rows: pa.Array) -> list[datetime]:
    """The oldest and newest age among the selected rows."""
    if age.ageless:
        return []
    if age.partition is not None:
        moment = parse_moment(dict(f.partitions)[age.partition])
        return [moment] if moment is not None and pc.any(rows).as_py() else []
    chosen = table[age.field].filter(rows)
    bounds = pc.min_max(chosen)
    return [naive(v) for v in (bounds["min"].as_py(), bounds["max"].as_py()) if v is not None]


def partition_match(f: DatasetFile, only: list[pa.Table]) -> bool | None:
    """Whether a file's partition values select it, when `only` names partition columns alone
    (a tenant-partitioned dataset); None when its rows must be read to tell."""
    values = dict(f.partitions)
    if not only or not all(set(k.column_names) <= set(values) for k in only):
        return None
    row = pa.table({k: [v] for k, v in values.items()})
    return bool(matches_any(row, only)[0].as_py())
