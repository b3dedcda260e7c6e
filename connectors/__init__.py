"""Connectors reach stores. They know tables, files and objects, never requests.

Each kind's module is imported when a store of that kind is opened: a command that only reads the
state database (`dsr status`, `dsr list`) does not pay for boto3 or pyarrow.
"""

from importlib import import_module

from .base import (
    ALL_TABLES,
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
    KeepsSchema,
    Mask,
    Rewrite,
    Sample,
    Skipped,
    StoreError,
    StoreUnavailable,
)

KINDS = {"sql": "SqlConnector", "s3": "S3Connector", "parquet": "ParquetConnector"}  # kind: its class


def open_store(name: str, kind: str, url: str, **options) -> Connector:
    """A connector of `kind`; `options` are the kind's own (endpoint, credentials, layouts)."""
    if kind not in KINDS:
        raise StoreError(f"store {name}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    return connector_class(kind)(name, url, **options)


def connector_class(kind: str) -> type:
    return getattr(import_module(f".{kind}.connector", __name__), KINDS[kind])


def __getattr__(name: str) -> type:
    # `from connectors import SqlConnector` still works: the kind's module loads on first use.
    for kind, class_name in KINDS.items():
        if name == class_name:
            return connector_class(kind)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "ALL_TABLES",
    "KeepsSchema",
    "Mask",
    "ParquetConnector",
    "Rewrite",
    "S3Connector",
    "Sample",
    "Skipped",
    "SqlConnector",
    "StoreError",
    "StoreUnavailable",
    "connector_class",
    "open_store",
]
