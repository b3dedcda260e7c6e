"""Connectors reach stores. They know tables, files and objects, never requests.

Each kind's module is imported when a store of that kind is opened: a command that only reads the
state database (`dsr status`, `dsr list`) does not pay for boto3 or pyarrow.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .errors import StoreError, StoreUnavailable

# The protocol's values (`FieldInfo`, `EraseOp`, ...) come from `base` when first asked for, like
# the connector classes: `dsr status` needs only the errors.
BASE = (
    "ALL_TABLES",
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
    "KeepsSchema",
    "Mask",
    "Chunk",
    "Rewrite",
    "Sample",
    "Skipped",
)
if TYPE_CHECKING:
    from .base import Connector

KINDS = {"sql": "SqlConnector", "s3": "S3Connector", "parquet": "ParquetConnector"}  # kind: its class


def open_store(name: str, kind: str, url: str, **options) -> Connector:
    """A connector of `kind`; `options` are the kind's own (endpoint, credentials, layouts)."""
    if kind not in KINDS:
        raise StoreError(f"store {name}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    return connector_class(kind)(name, url, **options)


def connector_class(kind: str) -> type:
    return getattr(import_module(f".{kind}.connector", __name__), KINDS[kind])


def __getattr__(name: str):
    # `from connectors import SqlConnector` still works: the kind's module loads on first use.
    for kind, class_name in KINDS.items():
        if name == class_name:
            return connector_class(kind)
    if name in BASE:
        return getattr(import_module(".base", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [*BASE, *KINDS.values(), "StoreError", "StoreUnavailable", "connector_class", "open_store"]
