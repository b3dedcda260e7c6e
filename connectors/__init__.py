"""Connectors reach stores. They know tables, files and objects, never requests."""

from .base import (
    HASH_PREFIX,
    REDACTED,
    CollectionInfo,
    Connector,
    Delete,
    EraseOp,
    FieldInfo,
    ForeignKey,
    Mask,
    Rewrite,
    Sample,
    StoreError,
    StoreUnavailable,
    is_masked,
)
from .sql import SqlConnector

KINDS = {"sql": SqlConnector}


def open_store(name: str, kind: str, url: str) -> Connector:
    try:
        cls = KINDS[kind]
    except KeyError:
        raise StoreError(f"store {name}: unknown kind {kind!r} (known: {', '.join(KINDS)})") from None
    return cls(name, url)


__all__ = [
    "HASH_PREFIX",
    "REDACTED",
    "CollectionInfo",
    "Connector",
    "Delete",
    "EraseOp",
    "FieldInfo",
    "ForeignKey",
    "Mask",
    "Rewrite",
    "Sample",
    "SqlConnector",
    "StoreError",
    "StoreUnavailable",
    "is_masked",
    "open_store",
]
