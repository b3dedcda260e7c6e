"""The protocol every connector implements, and the values that cross it.

Arrow is the interchange: lookups receive the key tuples to match as a `pyarrow.Table` whose
column names are the fields, and return matching records as `pyarrow.RecordBatch` streams.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import pyarrow as pa
import pyarrow.compute as pc

MaskMethod = Literal["null", "redact", "hash"]
REDACTED = "[redacted]"
HASH_PREFIX = "hash:"


class StoreError(Exception):
    """A store refused or failed an operation. Messages carry no values (engines hide parameters)."""


class StoreUnavailable(StoreError):
    """The store could not be reached."""


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
class Sample:
    """A bounded sample of a collection, and how it was drawn (`all`, `spread`, `first rows`)."""

    rows: pa.Table
    method: str


def keyed_hash(key: bytes, value: object) -> str:
    """Deterministic pseudonym: equal values stay joinable, the value itself is gone."""
    digest = hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest[:24]


def is_masked(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Which values are in a masked state (null, redacted or hashed): used by verification probes."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return pc.is_null(values)
    return pc.or_kleene(
        pc.is_null(values),
        pc.or_(pc.equal(values, REDACTED), pc.starts_with(values, HASH_PREFIX)),
    ).fill_null(True)


class Connector(Protocol):
    name: str

    def ping(self) -> None: ...
    def collections(self) -> list[CollectionInfo]: ...
    def count(self, collection: str) -> int: ...
    def sample(self, collection: str, n: int, max_chars: int) -> Sample: ...
    def find(self, collection: str, keys: pa.Table) -> Iterator[pa.RecordBatch]: ...
    def erase(self, ops: Sequence[EraseOp]) -> list[int]: ...
    def close(self) -> None: ...
