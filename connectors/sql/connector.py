"""SQL stores through SQLAlchemy Core: reflection, batched `IN` lookups, one transaction per erase.

Sampling for discovery is `sampling.py`, retention is `expiry.py`, masking `masking.py`.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import ARRAY

from ..base import (
    ALL_TABLES,
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
)
from ..scrub import scrubbed
from . import catalogue, sampling
from . import expiry as expiry_module
from .arrow import is_text, schema_for, to_batch
from .masking import mask_where, update_rows

CHUNK = 1000  # key tuples per statement: one cached statement, well under every driver's limit


def _lenient_text(dbapi_connection, _record) -> None:
    """SQLite stores whatever bytes it is given; undecodable text reads with U+FFFD, not an error
    (the driver's decode error would quote the value)."""
    dbapi_connection.text_factory = lambda raw: raw.decode("utf-8", "replace")


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
        self._all_tables = False  # whether _metadata holds every table, not only those used so far
        self._collections: list[CollectionInfo] | None = None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def store_errors(self, what: str):
        try:
            yield
        except StoreError:
            raise
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            raise StoreUnavailable(f"store {self.name}: {what}: {scrubbed(exc)}") from None
        except sa_exc.NoSuchTableError as exc:
            raise StoreError(f"store {self.name}: {what}: no table {exc}") from None
        except sa_exc.SQLAlchemyError as exc:
            raise StoreError(f"store {self.name}: {what}: {scrubbed(exc)}") from None
        except (pa.ArrowException, OverflowError) as exc:  # a value that does not fit its column's type
            raise StoreError(f"store {self.name}: {what}: {scrubbed(exc)}") from None

    def ping(self) -> None:
        with self.store_errors("connect"), self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def table(self, collection: str) -> sa.Table:
        if collection not in self._metadata.tables:
            with self.store_errors(f"reflect {collection}"):
                sa.Table(collection, self._metadata, autoload_with=self.engine)
        return self._metadata.tables[collection]

    # -- the reflected schema, kept across runs by the caller while the catalogue is unchanged --

    def catalogue(self) -> str | None:
        """The catalogue's fingerprint now (None: this database has none, reflect every time)."""
        with self.store_errors("read the catalogue"), self.engine.connect() as conn:
            return catalogue.fingerprint(conn)

    def known_schema(self) -> tuple[set[str], bytes]:
        """What the schema covers (see `KeepsSchema`), and all of it pickled (names and types, never rows)."""
        return self._covers(), pickle.dumps((self._metadata, self._all_tables))

    def adopt_schema(self, pickled: bytes) -> set[str]:
        """Use tables reflected by an earlier run (the caller checked the catalogue is unchanged and
        that the bytes are the ones it stored); returns what they cover (nothing: not adopted)."""
        kept = pickle.loads(pickled)
        if isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[0], sa.MetaData):
            self._metadata, self._all_tables = kept
        return self._covers()

    def _covers(self) -> set[str]:
        return set(self._metadata.tables) | ({ALL_TABLES} if self._all_tables else set())

    def collections(self) -> list[CollectionInfo]:
        """Every table with keys and references, reflected once per connector (not at all when
        an adopted schema holds every table already)."""
        if self._collections is None:
            if not self._all_tables:
                with self.store_errors("reflect"):
                    self._metadata.reflect(bind=self.engine)
                self._all_tables = True
            self._collections = [self._info(t) for t in self._metadata.sorted_tables]
        return self._collections

    @staticmethod
    def _info(table: sa.Table) -> CollectionInfo:
        fields = tuple(
            FieldInfo(c.name, str(c.type), bool(c.nullable), is_text(c.type)) for c in table.columns
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
        with self.store_errors(f"count {collection}"), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def sample(self, collection: str, n: int, max_chars: int) -> Sample:
        """Up to `n` rows spread over the table, text cut to `max_chars` (see `sampling.py`)."""
        return sampling.sample(self, collection, n, max_chars)

    def key_conditions(self, table: sa.Table, keys: pa.Table) -> Iterator[sa.ColumnElement[bool]]:
        """`IN` over bounded chunks of key tuples, with bound (expanding) parameters; on PostgreSQL
        one array parameter per key column instead (`= ANY`, or `IN` of their `unnest`), so every
        chunk runs the same statement text: an expanded `IN` is rewritten and parsed again by the
        driver for every chunk."""
        missing = [name for name in keys.column_names if name not in table.c]
        if missing:
            raise StoreError(f"store {self.name}: table {table.name} has no column {', '.join(missing)}")
        columns = [table.c[name] for name in keys.column_names]
        for start in range(0, keys.num_rows, self.chunk):
            part = keys.slice(start, self.chunk)
            if self.engine.dialect.name == "postgresql":
                arrays = [
                    sa.bindparam(None, values.to_pylist(), type_=ARRAY(c.type))
                    for c, values in zip(columns, part.columns, strict=True)
                ]
                if len(columns) == 1:
                    yield columns[0] == sa.any_(arrays[0])
                else:
                    tuples = sa.func.unnest(*arrays).table_valued(*(c.name for c in columns))
                    yield sa.tuple_(*columns).in_(sa.select(*tuples.render_derived().c))
            elif len(columns) == 1:
                yield columns[0].in_(part.column(0).to_pylist())
            else:
                tuples = list(zip(*(c.to_pylist() for c in part.columns), strict=True))
                yield sa.tuple_(*columns).in_(tuples)

    def find(self, collection: str, keys: Sequence[pa.Table]) -> Iterator[pa.RecordBatch]:
        """Every row whose key columns match one of the tuples of any table in `keys`."""
        table = self.table(collection)
        with self.store_errors(f"find in {collection}"), self.engine.connect() as conn:
            for part in keys:
                for condition in self.key_conditions(table, part):
                    rows = conn.execute(sa.select(table).where(condition)).fetchall()
                    if rows:
                        yield to_batch(schema_for(table, rows), rows)

    def erase(self, ops: Sequence[EraseOp]) -> list[EraseCount]:
        """Apply every operation in order, in one transaction: all of them or none."""
        counts = []
        with self.store_errors("erase"), self.engine.begin() as conn:
            for op in ops:
                table = self.table(op.collection)
                if isinstance(op.action, Delete):
                    deletes = (sa.delete(table).where(c) for c in self.key_conditions(table, op.keys))
                    counts.append(sum(conn.execute(stmt).rowcount for stmt in deletes))
                elif isinstance(op.action, Rewrite):
                    new = op.action.values.select(list(op.action.fields))
                    counts.append(update_rows(conn, table, op.keys, new))
                else:
                    counts.append(self._mask(conn, table, op.keys, op.action))
        return [EraseCount(n) for n in counts]

    def _mask(self, conn: sa.Connection, table: sa.Table, keys: pa.Table, mask: Mask) -> int:
        return sum(mask_where(conn, table, c, mask) for c in self.key_conditions(table, keys))

    def column_values(self, collection: str, columns: Sequence[str]) -> pa.Table:
        """Every row's values of `columns` (a restored table's keys, to compare with tombstones)."""
        table = self.table(collection)
        with self.store_errors(f"read {collection}"), self.engine.connect() as conn:
            rows = conn.execute(sa.select(*(table.c[c] for c in columns))).fetchall()
        return pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})

    # -- restriction ------------------------------------------------------------------------

    def restrict(self, collection: str, keys: pa.Table, marker: str, on: bool) -> int:
        """Set (or clear) the flag column of the rows `keys` names, in one transaction."""
        table = self.table(collection)
        flag = self._flag(table, marker)
        with self.store_errors(f"restrict in {collection}"), self.engine.begin() as conn:
            return sum(
                conn.execute(sa.update(table).where(c).values({flag.name: on})).rowcount
                for c in self.key_conditions(table, keys)
            )

    def restricted(self, collection: str, marker: str, keys: pa.Table | None = None) -> pa.Table:
        """The primary keys of flagged rows (of those in `keys`, when given)."""
        table = self.table(collection)
        flag = self._flag(table, marker)
        pk = [c.name for c in table.primary_key.columns]
        flagged = sa.and_(flag.is_not(None), flag != sa.false())
        conditions = [None] if keys is None else list(self.key_conditions(table, keys))
        rows = []
        with self.store_errors(f"read restrictions of {collection}"), self.engine.connect() as conn:
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
        """Delete (or mask) the rows older than the cutoff, in short transactions (see `expiry.py`)."""
        return expiry_module.expire(self, expiry, dry_run)
