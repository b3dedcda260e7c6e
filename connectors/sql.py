"""SQL stores through SQLAlchemy Core: reflection, batched `IN` lookups, one transaction per erase."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from .base import (
    HASH_PREFIX,
    REDACTED,
    CollectionInfo,
    Delete,
    EraseCount,
    EraseOp,
    Expiry,
    ExpiryCount,
    FieldInfo,
    ForeignKey,
    Mask,
    Rewrite,
    Sample,
    StoreError,
    StoreUnavailable,
    keyed_hash,
)

CHUNK = 1000  # key tuples per statement: one cached statement, well under every driver's limit
PROBES = 20  # index range reads per spread sample: its cost follows the sample, not the table
# A sweep's transactions aim at this length, so production writers are never blocked for long:
# a batch is halved while slower than twice this, and grows back (up to `Expiry.batch`) when quick.
BATCH_SECONDS = 0.25


def _arrow_type(sql_type: sa.types.TypeEngine) -> pa.DataType | None:
    """Arrow type for a column, or None to let Arrow infer it from the values (numerics)."""
    if isinstance(sql_type, sa.Boolean):
        return pa.bool_()
    if isinstance(sql_type, sa.Integer):
        return pa.int64()
    if isinstance(sql_type, sa.Float):
        return pa.float64()
    if isinstance(sql_type, sa.DateTime):
        return pa.timestamp("us", tz="UTC") if getattr(sql_type, "timezone", False) else pa.timestamp("us")
    if isinstance(sql_type, sa.Date):
        return pa.date32()
    if isinstance(sql_type, sa.String | sa.Enum):
        return pa.string()
    if isinstance(sql_type, sa.LargeBinary):
        return pa.binary()
    return None


def _is_text(sql_type: sa.types.TypeEngine) -> bool:
    return isinstance(sql_type, sa.String | sa.Enum)


def _lenient_text(dbapi_connection, _record) -> None:
    """SQLite stores whatever bytes it is given; undecodable text reads with U+FFFD, not an error
    (the driver's decode error would quote the value)."""
    dbapi_connection.text_factory = lambda raw: raw.decode("utf-8", "replace")


def _first_line(exc: BaseException) -> str:
    """Driver messages may carry row values on later lines (PostgreSQL's DETAIL); keep the first."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:200]


class SqlConnector:
    """One SQL database (or schema) reached through a SQLAlchemy URL."""

    def __init__(self, name: str, url: str, chunk: int = CHUNK):
        self.name = name
        self.chunk = chunk
        # hide_parameters: a failed statement's text ends up in logs and Dagster's event log.
        self.engine = sa.create_engine(url, hide_parameters=True, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _lenient_text)
        self._metadata = sa.MetaData()
        self._collections: list[CollectionInfo] | None = None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _errors(self, what: str):
        try:
            yield
        except StoreError:
            raise
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            raise StoreUnavailable(f"store {self.name}: {what}: {_first_line(exc)}") from None
        except sa_exc.NoSuchTableError as exc:
            raise StoreError(f"store {self.name}: {what}: no table {exc}") from None
        except sa_exc.SQLAlchemyError as exc:
            raise StoreError(f"store {self.name}: {what}: {_first_line(exc)}") from None

    def ping(self) -> None:
        with self._errors("connect"), self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def table(self, collection: str) -> sa.Table:
        if collection not in self._metadata.tables:
            with self._errors(f"reflect {collection}"):
                sa.Table(collection, self._metadata, autoload_with=self.engine)
        return self._metadata.tables[collection]

    def collections(self) -> list[CollectionInfo]:
        """Every table with keys and references, reflected once per connector."""
        if self._collections is None:
            with self._errors("reflect"):
                self._metadata.reflect(bind=self.engine)
            self._collections = [self._info(t) for t in self._metadata.sorted_tables]
        return self._collections

    @staticmethod
    def _info(table: sa.Table) -> CollectionInfo:
        fields = tuple(
            FieldInfo(c.name, str(c.type), bool(c.nullable), _is_text(c.type)) for c in table.columns
        )
        fks = tuple(
            ForeignKey(
                tuple(e.parent.name for e in fkc.elements),
                fkc.referred_table.name,
                tuple(e.column.name for e in fkc.elements),
            )
            for fkc in sorted(
                table.foreign_key_constraints, key=lambda f: [e.parent.name for e in f.elements]
            )
        )
        return CollectionInfo(table.name, fields, tuple(c.name for c in table.primary_key.columns), fks)

    def count(self, collection: str) -> int:
        table = self.table(collection)
        with self._errors(f"count {collection}"), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def sample(self, collection: str, n: int, max_chars: int) -> Sample:
        """Up to `n` rows spread over the table, text cut to `max_chars`.

        With an integer key (or SQLite's rowid) the sample is PROBES short index range reads at
        seeded random points between the smallest and largest key, so a re-run sees the same
        rows and a table of a million rows costs what one of ten thousand does. PostgreSQL
        tables without one use TABLESAMPLE SYSTEM; elsewhere they give their first rows.
        """
        table = self.table(collection)
        key = self._sample_key(table)
        with self._errors(f"sample {collection}"), self.engine.connect() as conn:
            if key is not None:
                rows, method = self._spread(conn, table, key, n, max_chars, f"{self.name}/{collection}")
            elif self.engine.dialect.name == "postgresql":
                rows, method = self._tablesample(conn, table, n, max_chars)
            else:
                rows = conn.execute(sa.select(*_capped(table, max_chars)).limit(n)).fetchall()
                method = "all" if len(rows) < n else "first rows"
        return Sample(_sample_table(table, rows), method)

    def _sample_key(self, table: sa.Table) -> sa.ColumnElement | None:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, sa.Integer):
            return pk[0]
        if self.engine.dialect.name == "sqlite":
            return sa.literal_column("rowid")
        return None

    @staticmethod
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

    @staticmethod
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

    def _condition(self, table: sa.Table, keys: pa.Table) -> Iterator[sa.ColumnElement[bool]]:
        """`IN` over bounded chunks of key tuples, with bound (expanding) parameters."""
        missing = [name for name in keys.column_names if name not in table.c]
        if missing:
            raise StoreError(f"store {self.name}: table {table.name} has no column {', '.join(missing)}")
        columns = [table.c[name] for name in keys.column_names]
        for start in range(0, keys.num_rows, self.chunk):
            part = keys.slice(start, self.chunk)
            if len(columns) == 1:
                yield columns[0].in_(part.column(0).to_pylist())
            else:
                tuples = list(zip(*(c.to_pylist() for c in part.columns), strict=True))
                yield sa.tuple_(*columns).in_(tuples)

    def _schema(self, table: sa.Table, rows: list[sa.Row]) -> pa.Schema:
        fields = []
        for i, col in enumerate(table.columns):
            arrow = _arrow_type(col.type)
            if arrow is None:
                arrow = pa.array([r[i] for r in rows]).type if rows else pa.null()
            fields.append(pa.field(col.name, arrow))
        return pa.schema(fields)

    def find(self, collection: str, keys: Sequence[pa.Table]) -> Iterator[pa.RecordBatch]:
        """Every row whose key columns match one of the tuples of any table in `keys`."""
        table = self.table(collection)
        with self._errors(f"find in {collection}"), self.engine.connect() as conn:
            for part in keys:
                for condition in self._condition(table, part):
                    rows = conn.execute(sa.select(table).where(condition)).fetchall()
                    if rows:
                        yield _to_batch(self._schema(table, rows), rows)

    def erase(self, ops: Sequence[EraseOp]) -> list[EraseCount]:
        """Apply every operation in order, in one transaction: all of them or none."""
        counts = []
        with self._errors("erase"), self.engine.begin() as conn:
            for op in ops:
                table = self.table(op.collection)
                if isinstance(op.action, Delete):
                    deletes = (sa.delete(table).where(c) for c in self._condition(table, op.keys))
                    counts.append(sum(conn.execute(stmt).rowcount for stmt in deletes))
                elif isinstance(op.action, Rewrite):
                    new = op.action.values.select(list(op.action.fields))
                    counts.append(_update_rows(conn, table, op.keys, new))
                else:
                    counts.append(self._mask(conn, table, op.keys, op.action))
        return [EraseCount(n) for n in counts]

    def _mask(self, conn: sa.Connection, table: sa.Table, keys: pa.Table, mask: Mask) -> int:
        return sum(self._mask_where(conn, table, c, mask) for c in self._condition(table, keys))

    def _mask_where(self, conn: sa.Connection, table: sa.Table, condition, mask: Mask) -> int:
        fixed = {
            name: (REDACTED if method == "redact" and _is_text(table.c[name].type) else None)
            for name, method in mask.fields.items()
            if method != "hash" or not _is_text(table.c[name].type)
        }
        hashed = [n for n in mask.fields if n not in fixed]
        # Both updates touch the same rows; either count is the number of rows masked.
        n_fixed = conn.execute(sa.update(table).where(condition).values(fixed)).rowcount if fixed else 0
        n_hashed = self._mask_hashed(conn, table, condition, hashed, mask.hash_key) if hashed else 0
        return max(n_fixed, n_hashed)

    def column_values(self, collection: str, columns: Sequence[str]) -> pa.Table:
        """Every row's values of `columns` (a restored table's keys, to compare with tombstones)."""
        table = self.table(collection)
        with self._errors(f"read {collection}"), self.engine.connect() as conn:
            rows = conn.execute(sa.select(*(table.c[c] for c in columns))).fetchall()
        return pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})

    # -- restriction ------------------------------------------------------------------------

    def restrict(self, collection: str, keys: pa.Table, marker: str, on: bool) -> int:
        """Set (or clear) the flag column of the rows `keys` names, in one transaction."""
        table = self.table(collection)
        flag = self._flag(table, marker)
        with self._errors(f"restrict in {collection}"), self.engine.begin() as conn:
            return sum(
                conn.execute(sa.update(table).where(c).values({flag.name: on})).rowcount
                for c in self._condition(table, keys)
            )

    def restricted(self, collection: str, marker: str, keys: pa.Table | None = None) -> pa.Table:
        """The primary keys of flagged rows (of those in `keys`, when given)."""
        table = self.table(collection)
        flag = self._flag(table, marker)
        pk = [c.name for c in table.primary_key.columns]
        flagged = sa.and_(flag.is_not(None), flag != sa.false())
        conditions = [None] if keys is None else list(self._condition(table, keys))
        rows = []
        with self._errors(f"read restrictions of {collection}"), self.engine.connect() as conn:
            for c in conditions:
                where = flagged if c is None else sa.and_(flagged, c)
                rows += conn.execute(sa.select(*(table.c[n] for n in pk)).where(where)).fetchall()
        return pa.table({n: [r[i] for r in rows] for i, n in enumerate(pk)})

    def _flag(self, table: sa.Table, marker: str) -> sa.Column:
        # MariaDB and MySQL reflect BOOLEAN as TINYINT(1): an integer flag is accepted too.
        if marker not in table.c or not isinstance(table.c[marker].type, sa.Boolean | sa.Integer):
            raise StoreError(f"store {self.name}: table {table.name} has no boolean column {marker}")
        return table.c[marker]

    # -- retention --------------------------------------------------------------------------

    def expire(self, expiry: Expiry, dry_run: bool = False) -> ExpiryCount:
        """Delete (or mask) the rows whose age column is older than the cutoff, in short transactions.

        Batches walk an index: the age column's when it has one, else a single-column primary key.
        Each finds the bound of its next `batch` rows and changes the rows up to it, so every
        batch reads a fresh range of the index and a crash leaves only whole batches done. Held
        and restricted rows are left, and so are rows a mask already covers: a re-run changes
        nothing twice. A dry run counts; a real run counts as it goes, without a counting pass.
        """
        table = self.table(expiry.collection)
        clock = None if expiry.age.ageless else self._age_column(table, expiry)
        expired = sa.true() if clock is None else clock < _moment(clock.type, expiry.cutoff)
        if expiry.only:
            chosen = [c for keys in expiry.only if keys.num_rows for c in self._condition(table, keys)]
            expired = sa.and_(expired, sa.or_(*chosen) if chosen else sa.false())
        if isinstance(expiry.action, Mask):
            expired = sa.and_(expired, _unmasked(table, expiry.action))
        kept = self._kept(table, expiry)
        todo = expired if kept is None else sa.and_(expired, sa.not_(kept))
        with self._errors(f"sweep {table.name}"):
            walk = _walk_column(table, clock, expiry)
            with self.engine.connect() as conn:
                # min and max along an index are two probes; counting is a pass, left to the batches.
                dated = walk if clock is None else clock
                oldest, newest = conn.execute(
                    sa.select(sa.func.min(dated), sa.func.max(dated)).where(todo)
                ).one()
                n = conn.execute(sa.select(sa.func.count()).where(todo)).scalar() if dry_run else 0
                held = (
                    conn.execute(sa.select(sa.func.count()).where(expired, kept)).scalar()
                    if kept is not None
                    else 0
                )
            count = ExpiryCount(expired=n + held, kept=held)
            if clock is not None:
                count.saw([_as_datetime(t) for t in (oldest, newest) if t is not None])
            if oldest is not None and not dry_run:
                self._expire_in_batches(table, walk, todo, expiry, count)
                count.expired += count.changed
        return count

    def _age_column(self, table: sa.Table, expiry: Expiry) -> sa.Column:
        name = expiry.age.field
        if name is None:
            raise StoreError(f"store {self.name}: {table.name}: a SQL table's age comes from a column")
        if name not in table.c:
            raise StoreError(f"store {self.name}: table {table.name} has no column {name}")
        if not isinstance(table.c[name].type, sa.Date | sa.DateTime):
            raise StoreError(f"store {self.name}: {table.name}.{name} is not a date or timestamp column")
        return table.c[name]

    def _kept(self, table: sa.Table, expiry: Expiry) -> sa.ColumnElement[bool] | None:
        """Rows a sweep must leave: matching a kept key tuple, or flagged as restricted."""
        conditions = [c for keys in expiry.keep if keys.num_rows for c in self._condition(table, keys)]
        if expiry.restricted:
            if expiry.restricted not in table.c:
                raise StoreError(f"store {self.name}: table {table.name} has no column {expiry.restricted}")
            flag = table.c[expiry.restricted]
            conditions.append(sa.and_(flag.is_not(None), flag != sa.false()))
        return sa.or_(*conditions) if conditions else None

    def _expire_in_batches(self, table: sa.Table, walk, todo, expiry: Expiry, count: ExpiryCount) -> None:
        size, last = expiry.batch, None
        while True:
            started = time.perf_counter()
            with self.engine.begin() as conn:
                window = todo if last is None else sa.and_(todo, walk > last)
                bound = conn.execute(
                    sa.select(walk).where(window).order_by(walk).offset(size - 1).limit(1)
                ).scalar()
                step = window if bound is None else sa.and_(window, walk <= bound)
                if expiry.archive is not None:
                    rows = conn.execute(sa.select(table).where(step)).fetchall()
                    if rows:
                        expiry.archive(pa.Table.from_batches([_to_batch(self._schema(table, rows), rows)]))
                if isinstance(expiry.action, Mask):
                    count.changed += self._mask_where(conn, table, step, expiry.action)
                else:
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

    @staticmethod
    def _mask_hashed(conn, table, condition, names: list[str], key: bytes) -> int:
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
        return _update_rows(
            conn, table, keys, pa.table(hashed, schema=pa.schema([(n, pa.string()) for n in names]))
        )


def _update_rows(conn: sa.Connection, table: sa.Table, keys: pa.Table, values: pa.Table) -> int:
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


def _unmasked(table: sa.Table, mask: Mask) -> sa.ColumnElement[bool]:
    """Rows where some field still holds a value the mask would remove."""
    conditions = []
    for name in mask.fields:
        col = table.c[name]
        if _is_text(col.type):
            conditions.append(
                sa.and_(col.is_not(None), col != REDACTED, sa.not_(col.startswith(HASH_PREFIX)))
            )
        else:
            conditions.append(col.is_not(None))
    return sa.or_(*conditions)


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
        arrow = _arrow_type(col.type)
        try:
            arrays.append(pa.array(values, type=arrow) if arrow is not None else pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
    return pa.table(arrays, names=[c.name for c in table.columns])


def _fit(value: str, sql_type: sa.types.TypeEngine) -> str:
    length = getattr(sql_type, "length", None)
    return value[:length] if length else value


def _to_batch(schema: pa.Schema, rows: list[sa.Row]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        if pa.types.is_timestamp(field.type) and field.type.tz:
            values = [v.astimezone(dt.UTC) if v is not None and v.tzinfo else v for v in values]
        arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
