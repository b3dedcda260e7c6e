"""Connectors reach stores. They know tables, files and objects, never requests."""

from .base import (
    HASH_PREFIX,
    RECORD,
    REDACTED,
    SOURCE,
    Age,
    CollectionInfo,
    Connector,
    Delete,
    Dependent,
    EraseCount,
    EraseOp,
    Expiry,
    ExpiryCount,
    FieldInfo,
    ForeignKey,
    Mask,
    Rewrite,
    Sample,
    Skipped,
    StoreError,
    StoreUnavailable,
    is_masked,
)
from .parquet import ParquetConnector
from .s3 import S3Connector
from .sql import SqlConnector

KINDS = {"sql": SqlConnector, "s3": S3Connector, "parquet": ParquetConnector}


def open_store(name: str, kind: str, url: str, **options) -> Connector:
    """A connector of `kind`; `options` are the kind's own (endpoint, credentials, layouts)."""
    try:
        cls = KINDS[kind]
    except KeyError:
        raise StoreError(f"store {name}: unknown kind {kind!r} (known: {', '.join(KINDS)})") from None
    return cls(name, url, **options)


__all__ = [
    "HASH_PREFIX",
    "RECORD",
    "REDACTED",
    "SOURCE",
    "Age",
    "CollectionInfo",
    "Connector",
    "Delete",
    "Dependent",
    "EraseCount",
    "EraseOp",
    "Expiry",
    "ExpiryCount",
    "FieldInfo",
    "ForeignKey",
    "Mask",
    "ParquetConnector",
    "Rewrite",
    "S3Connector",
    "Sample",
    "Skipped",
    "SqlConnector",
    "StoreError",
    "StoreUnavailable",
    "is_masked",
    "open_store",
]
