"""SQL stores through SQLAlchemy Core: reflection, batched `IN` lookups, one transaction per erase."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from .base import (
    REDACTED,
    CollectionInfo,
    Delete,
    EraseCount,
    EraseOp,
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
        fixed = {
            name: (REDACTED if method == "redact" and _is_text(table.c[name].type) else None)
            for name, method in mask.fields.items()
            if method != "hash" or not _is_text(table.c[name].type)
        }
        hashed = [n for n in mask.fields if n not in fixed]
        changed = 0
        for condition in self._condition(table, keys):
            # Both updates touch the same rows; either count is the number of rows masked.
            n_fixed = conn.execute(sa.update(table).where(condition).values(fixed)).rowcount if fixed else 0
            n_hashed = self._mask_hashed(conn, table, condition, hashed, mask.hash_key) if hashed else 0
            changed += max(n_fixed, n_hashed)
        return changed

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
