"""The protocol every connector implements, and the values that cross it.

Arrow is the interchange: lookups receive the key tuples to match as `pyarrow.Table`s whose
column names are the fields (a record matches when its tuple is in any of the tables), and
return matching records as a stream of `pyarrow.RecordBatch`es.

Object and lake stores add two columns to the records they return: `_source` (the object key
or file path) and `_record` (the record's position in it). `_record` is valid only until the
object or file changes, so these stores erase by content: an `EraseOp` whose keys include
`_source` touches only those objects or files, and there removes the records matching the other
key columns. Such a store reports what it could not read as `Skipped` items in the stream.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from .errors import StoreError as StoreError
from .errors import StoreUnavailable as StoreUnavailable

if TYPE_CHECKING:  # pyarrow is imported by the connectors that read stores, not by this protocol
    import pyarrow as pa

MaskMethod = Literal["null", "redact", "hash"]
REDACTED = "[redacted]"
HASH_PREFIX = "hash:"
SOURCE = "_source"  # object key or file path of a record (object and lake stores)
RECORD = "_record"  # the record's position in its object or file, until that changes


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    nullable: bool = True
    is_text: bool = False


@dataclass(frozen=True)
class ForeignKey:
    fields: tuple[str, ...]
    to_collection: str
    to_fields: tuple[str, ...]


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    fields: tuple[FieldInfo, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    # Where an object or lake collection lives (prefix, format, path): what a datamap entry needs.
    layout: Mapping[str, str] = field(default_factory=dict)

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Delete:
    pass


@dataclass(frozen=True)
class Mask:
    """Overwrite personal fields: `null`, a fixed redaction, or a keyed hash of the old value."""

    fields: Mapping[str, MaskMethod]
    hash_key: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Rewrite:
    """Set `fields` to new values per row: `values` holds the key columns and each field's new value."""

    fields: tuple[str, ...]
    values: pa.Table


@dataclass(frozen=True)
class EraseOp:
    collection: str
    keys: pa.Table  # rows to change: the tuples of these columns
    action: Delete | Mask | Rewrite


@dataclass(frozen=True)
class Skipped:
    """An object or file that could not be read or changed, and why. Never its content.

    `hits` are the key values seen in it (to tell whose request it concerns); None means it
    could not be searched at all, so it concerns every subject looked for.
    """

    collection: str
    item: str
    reason: str
    hits: frozenset[str] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EraseCount:
    """What one EraseOp did: records changed, old object versions deleted, items skipped.

    `versions` holds, per deleted version, the key values it held (to count per subject).
    """

    changed: int = 0
    versions: tuple[frozenset[str], ...] = field(default=(), repr=False)
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True)
class Age:
    """Where a record's age is read. Exactly one is set: a field (SQL column, lake column), a Hive
    partition value (lakes), the object's LastModified, or a date in the object's key written
    in `strftime` form (`logs/%Y/%m/%d/`)."""

    field: str | None = None
    partition: str | None = None
    modified: bool = False
    key_date: str | None = None

    @property
    def ageless(self) -> bool:
        """None is set: every record counts as past its period (a tenant's purge)."""
        return not (self.field or self.partition or self.modified or self.key_date)


@dataclass(frozen=True)
class Dependent:
    """Rows of another collection of the same store that reference expiring rows (SQL stores).

    `delete`: they are owned by what they reference and go first, with their own dependents.
    `clear`: the reference does not mean ownership; its fields are set to null. A dependent row
    that must stay keeps the row it references: one `keep` or `restricted` covers (holds,
    restrictions), one the whole collection is held for (`keep_all`), or, for `delete`, one
    younger than `own_cutoff` by `own_age` (its own rule keeps it longer).
    """

    collection: str
    fields: tuple[str, ...]
    to_fields: tuple[str, ...]
    action: Literal["delete", "clear"] = "delete"
    keep: Sequence[pa.Table] = ()
    restricted: str | None = None
    keep_all: bool = False
    own_age: Age | None = None
    own_cutoff: datetime | None = None
    dependents: tuple[Dependent, ...] = ()


@dataclass(frozen=True)
class Expiry:
    """Retention for one collection: what is older than `cutoff` goes (or is masked).

    `keep` holds key tuples never touched (legal holds, restricted subjects); `restricted` names
    the store's own restriction marker (a boolean flag column, an object tag) whose records stay.
    `archive`, when set, receives every batch before it is removed (an archive store's writer).
    `prefix` (object stores) selects objects by a prefix rather than a collection's layout.
    """

    collection: str
    age: Age
    cutoff: datetime
    action: Delete | Mask = Delete()
    keep: Sequence[pa.Table] = ()
    restricted: str | None = None
    batch: int = 100_000  # most records changed in one transaction (objects: one round of deletes)
    archive: Callable[[pa.Table], None] | None = field(default=None, compare=False)
    prefix: str | None = None
    only: Sequence[pa.Table] = ()  # when given, only records matching one of these (a tenant's) expire
    dependents: Sequence[Dependent] = ()  # SQL: rows referencing expiring rows, planned with them


@dataclass
class ExpiryCount:
    """What a sweep of one collection found and did. Times are the batches' wall-clock seconds."""

    expired: int = 0  # records past their period
    kept: int = 0  # of which held or restricted
    changed: int = 0  # deleted or masked (0 in a dry run)
    oldest: datetime | None = None
    newest: datetime | None = None
    batches: int = 0
    longest_batch: float = 0.0
    partitions_dropped: int = 0  # whole lake partitions or files removed without rewriting
    # Per dependent collection: its rows deleted or cleared with the expired ones (would be, in a
    # dry run), and how many expired rows it kept (they are among `kept`).
    dependents: dict[str, int] = field(default_factory=dict)
    kept_by: dict[str, int] = field(default_factory=dict)

    def add(self, other: ExpiryCount) -> None:
        self.expired += other.expired
        self.kept += other.kept
        self.changed += other.changed
        self.oldest = min((t for t in (self.oldest, other.oldest) if t is not None), default=None)
        self.newest = max((t for t in (self.newest, other.newest) if t is not None), default=None)
        self.batches += other.batches
        self.longest_batch = max(self.longest_batch, other.longest_batch)
        self.partitions_dropped += other.partitions_dropped
        for mine, theirs in ((self.dependents, other.dependents), (self.kept_by, other.kept_by)):
            for name, n in theirs.items():
                mine[name] = mine.get(name, 0) + n

    def saw(self, moments: Sequence[datetime]) -> None:
        if moments:
            self.add(ExpiryCount(oldest=min(moments), newest=max(moments)))


@dataclass(frozen=True)
class Sample:
    """A bounded sample of a collection, and how it was drawn (`all`, `spread`, `first rows`)."""

    rows: pa.Table
    method: str


def keyed_hash(key: bytes, value: object) -> str:
    """Deterministic pseudonym: equal values stay joinable, the value itself is gone."""
    digest = hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest[:24]


class Connector(Protocol):
    """A store. Restriction marks records by `marker`: a SQL table's boolean flag column, an object
    tag, or a lake's side table of restricted keys (a dataset path under the store's root); `keys`
    name records by primary key (SQL), by `_source` (objects) or by the side table's columns."""

    name: str

    def ping(self) -> None: ...
    def collections(self) -> list[CollectionInfo]: ...
    def count(self, collection: str) -> int: ...
    def sample(self, collection: str, n: int, max_chars: int) -> Sample: ...
    def find(self, collection: str, keys: Sequence[pa.Table]) -> Iterator[pa.RecordBatch | Skipped]: ...
    def erase(self, ops: Sequence[EraseOp]) -> list[EraseCount]: ...
    def expire(self, expiry: Expiry, dry_run: bool = False) -> ExpiryCount: ...
    def restrict(self, collection: str, keys: pa.Table, marker: str, on: bool) -> int: ...
    def restricted(self, collection: str, marker: str, keys: pa.Table | None = None) -> pa.Table: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Chunk:
    """One of `count` disjoint shares of a store's files or objects: those whose path (a file's in its
    dataset, an object's key) hashes to `index`. A path belongs to exactly one chunk, whoever lists it
    and when, so chunks done by separate processes never touch the same file or object."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"chunk {self.index} of {self.count}")

    def holds(self, path: str) -> bool:
        digest = hashlib.blake2b(path.encode(), digest_size=8).digest()  # even for near-equal paths
        return int.from_bytes(digest, "big") % self.count == self.index


ALL_TABLES = "*"  # in what a kept schema covers: every table, not only those used so far


@runtime_checkable
class KeepsSchema(Protocol):
    """A connector whose reflected schema its caller may keep between runs (SQL stores): used again
    while the catalogue's fingerprint is unchanged. `known_schema` and `adopt_schema` name what the
    schema covers (its tables, and `ALL_TABLES` once every table of the store is in it): the caller
    keeps it again when that grew."""

    def catalogue(self) -> str | None: ...
    def known_schema(self) -> tuple[set[str], bytes]: ...
    def adopt_schema(self, pickled: bytes) -> set[str]: ...
