"""Retention in a SQL table: delete (or mask) what outlived its rule, in short transactions along an index."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

import pyarrow as pa
import sqlalchemy as sa

from ..base import Delete, Expiry, ExpiryCount, Mask, StoreError
from . import dependents
from .arrow import schema_for, to_batch
from .masking import mask_where, unmasked

if TYPE_CHECKING:
    from .connector import SqlConnector

# A sweep's transactions aim at this length, so production writers are never blocked for long:
# a batch is halved while slower than twice this, and grows back (up to `Expiry.batch`) when quick.
BATCH_SECONDS = 0.25


def expire(sql: SqlConnector, expiry: Expiry, dry_run: bool = False) -> ExpiryCount:
    """Delete (or mask) the rows whose age column is older than the cutoff, in short transactions.

    Batches walk an index: the age column's when it has one, else a single-column primary key.
    Each finds the bound of its next `batch` rows and changes the rows up to it, so every
    batch reads a fresh range of the index and a crash leaves only whole batches done. Held
    and restricted rows are left, and so are rows a mask already covers: a re-run changes
    nothing twice. A dry run counts; a real run counts as it goes, without a counting pass.
    """
    table = sql.table(expiry.collection)
    clock = None if expiry.age.ageless else _age_column(sql, table, expiry)
    expired = sa.true() if clock is None else clock < _moment(clock.type, expiry.cutoff)
    if expiry.only:
        chosen = [c for keys in expiry.only if keys.num_rows for c in sql.key_conditions(table, keys)]
        expired = sa.and_(expired, sa.or_(*chosen) if chosen else sa.false())
    if isinstance(expiry.action, Mask):
        expired = sa.and_(expired, unmasked(table, expiry.action))
    kept = _kept(sql, table, expiry)
    free = expired if kept is None else sa.and_(expired, sa.not_(kept))
    deps = expiry.dependents if isinstance(expiry.action, Delete) else ()  # a mask leaves rows in place
    with sql.store_errors(f"sweep {table.name}"):
        kept_by = dependents.keeping(sql, table, deps, _moment)
        todo = sa.and_(free, *[sa.not_(c) for c in kept_by.values()]) if kept_by else free
        walk = _walk_column(table, clock, expiry)
        with sql.engine.connect() as conn:
            # min and max along an index are two probes; counting is a pass, left to the batches.
            dated = walk if clock is None else clock
            oldest, newest = conn.execute(sa.select(sa.func.min(dated), sa.func.max(dated)).where(todo)).one()
            n = conn.execute(sa.select(sa.func.count()).where(todo)).scalar() if dry_run else 0
            held = (
                conn.execute(sa.select(sa.func.count()).where(expired, kept)).scalar()
                if kept is not None
                else 0
            )
            count = ExpiryCount(expired=n + held, kept=held)
            if kept_by:  # expired rows that rows of another collection, kept longer, still reference
                waiting = conn.execute(
                    sa.select(sa.func.count()).where(free, sa.or_(*kept_by.values()))
                ).scalar()
                count.expired, count.kept = count.expired + waiting, count.kept + waiting
                for name, condition in kept_by.items():
                    count.kept_by[name] = conn.execute(
                        sa.select(sa.func.count()).where(free, condition)
                    ).scalar()
            if dry_run:
                dependents.count(sql, conn, table, todo, deps, count.dependents)
        if clock is not None:
            count.saw([_as_datetime(t) for t in (oldest, newest) if t is not None])
        if oldest is not None and not dry_run:
            _expire_in_batches(sql, table, walk, todo, expiry, count)
            count.expired += count.changed
    return count


def _age_column(sql: SqlConnector, table: sa.Table, expiry: Expiry) -> sa.Column:
    name = expiry.age.field
    if name is None:
        raise StoreError(f"store {sql.name}: {table.name}: a SQL table's age comes from a column")
    if name not in table.c:
        raise StoreError(f"store {sql.name}: table {table.name} has no column {name}")
    if not isinstance(table.c[name].type, sa.Date | sa.DateTime):
        raise StoreError(f"store {sql.name}: {table.name}.{name} is not a date or timestamp column")
    return table.c[name]


def _kept(sql: SqlConnector, table: sa.Table, expiry: Expiry) -> sa.ColumnElement[bool] | None:
    """Rows a sweep must leave: matching a kept key tuple, or flagged as restricted."""
    conditions = [c for keys in expiry.keep if keys.num_rows for c in sql.key_conditions(table, keys)]
    if expiry.restricted:
        if expiry.restricted not in table.c:
            raise StoreError(f"store {sql.name}: table {table.name} has no column {expiry.restricted}")
        flag = table.c[expiry.restricted]
        conditions.append(sa.and_(flag.is_not(None), flag != sa.false()))
    return sa.or_(*conditions) if conditions else None


def _expire_in_batches(
    sql: SqlConnector, table: sa.Table, walk, todo, expiry: Expiry, count: ExpiryCount
) -> None:
    size, last = expiry.batch, None
    while True:
        started = time.perf_counter()
        with sql.engine.begin() as conn:
            window = todo if last is None else sa.and_(todo, walk > last)
            bound = conn.execute(
                sa.select(walk).where(window).order_by(walk).offset(size - 1).limit(1)
            ).scalar()
            step = window if bound is None else sa.and_(window, walk <= bound)
            if expiry.archive is not None:
                rows = conn.execute(sa.select(table).where(step)).fetchall()
                if rows:
                    expiry.archive(pa.Table.from_batches([to_batch(schema_for(table, rows), rows)]))
            if isinstance(expiry.action, Mask):
                count.changed += mask_where(conn, table, step, expiry.action)
            else:  # what references the rows goes (or lets go) first, in the same transaction
                dependents.apply(sql, conn, table, step, expiry.dependents, count.dependents)
                count.changed += conn.execute(sa.delete(table).where(step)).rowcount
        elapsed = time.perf_counter() - started
        count.batches += 1
        count.longest_batch = max(count.longest_batch, elapsed)
        if bound is None:
            return
        last = bound
        if elapsed > 2 * BATCH_SECONDS:
            size = max(100, size // 2)
        elif elapsed < BATCH_SECONDS / 2:
            size = min(expiry.batch, size * 2)


def _walk_column(table: sa.Table, clock: sa.Column | None, expiry: Expiry) -> sa.Column:
    """The column a sweep's batches advance along: one that leads an index, so each bound is cheap.

    It need not be unique: a batch takes every row up to its bound, ties included.
    """
    if clock is not None and any(list(index.columns)[:1] == [clock] for index in table.indexes):
        return clock
    pk = list(table.primary_key.columns)
    if len(pk) == 1 or clock is None and pk:
        return pk[0]
    if clock is not None:
        return clock
    names = [n for keys in expiry.only for n in keys.column_names] or [c.name for c in table.columns]
    return table.c[names[0]]


def _moment(sql_type: sa.types.TypeEngine, cutoff: dt.datetime) -> dt.date | dt.datetime:
    """The cutoff as the column compares it: a day for dates, aware UTC for zoned timestamps."""
    if isinstance(sql_type, sa.DateTime):
        return cutoff.replace(tzinfo=dt.UTC) if getattr(sql_type, "timezone", False) else cutoff
    return cutoff.date()


def _as_datetime(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    return dt.datetime(value.year, value.month, value.day)
