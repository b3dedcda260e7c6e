"""Archives: records a legal obligation keeps after a purge (invoices under tax law), encrypted.

Each batch is written to the rule's archive store as an AES-256-GCM encrypted Parquet file, under a
key from the environment (`DSR_ARCHIVE_KEY`, never written beside the data), its path bound as
associated data so a moved file does not decrypt. Files are named by their content, so a batch
written again after a crash replaces itself. Each one is recorded with its rule, legal basis and
expiry; `expire_archives` deletes those whose obligation has ended.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Callable
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from connectors import Connector, ParquetConnector

from ..core.errors import ConfigError
from ..state.archives import Archived
from ..state.db import StateDB
from .rules import Rule

ARCHIVE_KEY_ENV = "DSR_ARCHIVE_KEY"
NEW_ARCHIVE_KEY_ENV = "DSR_NEW_ARCHIVE_KEY"  # the key `dsr keys rotate` moves archives to


def archive_key(variable: str = ARCHIVE_KEY_ENV) -> bytes:
    text = os.environ.get(variable)
    if not text:
        raise ConfigError(f"{variable} is not set: archives are encrypted with a key from the environment")
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{variable} must be 32 bytes, base64-encoded (AES-256)")
    return key


def encrypted_writer(
    db: StateDB,
    archive: Connector,
    rule: Rule,
    tenant: str,
    store: str,
    collection: str,
    until: datetime,
) -> Callable[[pa.Table], None]:
    """A writer of one purge target's archived batches, one encrypted file per batch."""
    if not isinstance(archive, ParquetConnector):
        raise ConfigError(f"rule {rule.name}: archive_to must be a parquet store")
    key = archive_key()

    def write(batch: pa.Table) -> None:
        buffer = io.BytesIO()
        pq.write_table(batch, buffer, compression="zstd")
        plain = buffer.getvalue()
        name = hashlib.sha256(plain).hexdigest()[:32]
        path = f"tenants/{tenant}/{store}/{collection}/{name}.parquet.enc"
        nonce = os.urandom(12)
        # The path is bound to the ciphertext: a file moved elsewhere does not decrypt.
        archive.write_bytes(path, nonce + AESGCM(key).encrypt(nonce, plain, path.encode()))
        db.archives.record(
            Archived(
                path,
                rule.archive_to,
                tenant,
                store,
                collection,
                batch.num_rows,
                rule.name,
                rule.legal_basis,
                until,
            )
        )

    return write


def read_archive(archive: ParquetConnector, path: str) -> pa.Table:
    """Decrypt one archived file (for an authority that has a right to it)."""
    blob = archive.read_bytes(path)
    plain = AESGCM(archive_key()).decrypt(blob[:12], blob[12:], path.encode())
    return pq.read_table(io.BytesIO(plain))


def reencrypt_archives(db: StateDB, connector: Callable[[str], Connector], old: bytes, new: bytes) -> int:
    """Every archive file still kept, under the `new` key (a rotation; resumable: files already under
    it are left). Returns how many changed."""
    changed = 0
    for item in db.archives.present():
        archive = connector(item.archive_store)
        blob = archive.read_bytes(item.path)
        try:
            AESGCM(new).decrypt(blob[:12], blob[12:], item.path.encode())
            continue
        except InvalidTag:
            plain = AESGCM(old).decrypt(blob[:12], blob[12:], item.path.encode())
        nonce = os.urandom(12)
        archive.write_bytes(item.path, nonce + AESGCM(new).encrypt(nonce, plain, item.path.encode()))
        changed += 1
    return changed


def expire_archives(db: StateDB, connector: Callable[[str], Connector], actor: str, now: datetime) -> int:
    """Delete archived files whose obligation has ended; returns how many went."""
    due = db.archives.due(now)
    for item in due:
        archive = connector(item.archive_store)
        if isinstance(archive, ParquetConnector):
            archive.remove(item.path)
        db.archives.deleted(item, now, actor)
    return len(due)
