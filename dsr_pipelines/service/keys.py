"""Key rotation: the state database, its staged packages and the archives move to new keys.

Identities, links, hold identities, skipped items and restriction records are re-encrypted under
a new encryption key, staged packages too, and every data key is re-wrapped under the new master
key; subject references, tombstones and the ledger's chain keep their keys, so every reference,
replay and verification goes on working. With `DSR_NEW_ARCHIVE_KEY` set, archive files move to it.
A rotation cut short is resumed by running it again with the same new key: until it finishes,
the database opens with the current key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..core.errors import DsrError
from ..core.keys import MasterKey
from ..plan.package import reencrypt_staged
from ..retain.archive import ARCHIVE_KEY_ENV, NEW_ARCHIVE_KEY_ENV, archive_key, reencrypt_archives
from ..state import keyring
from .workspace import Workspace


@dataclass(frozen=True)
class Rotation:
    encryption_version: int
    reencrypted: dict[str, int]  # per table, and staged files and archives


def rotate(ws: Workspace, new: MasterKey, actor: str) -> Rotation:
    old = ws.config.master_key()
    if new.check_value() == old.check_value():
        raise DsrError(f"{new.source} is the current key: nothing to rotate")
    new_archive = archive_key(NEW_ARCHIVE_KEY_ENV) if os.environ.get(NEW_ARCHIVE_KEY_ENV) else None
    db = ws.db
    keys = keyring.begin_rotation(db.engine, old, db.keys, db.clock())
    db.keys = keys  # what is written meanwhile is written under the new encryption key
    counts = keyring.reencrypt(db.engine, keys)
    counts["staged package files"] = reencrypt_staged(ws.config.export_dir, keys)
    if new_archive is not None:
        counts["archive files"] = reencrypt_archives(
            db, ws.connectors, archive_key(ARCHIVE_KEY_ENV), new_archive
        )
    db.keys = keyring.finish_rotation(db.engine, old, new, keys, db.clock())
    version = keys.encryption[0][0]
    details = {"encryption_version": version, "archives": new_archive is not None, **counts}
    db.ledger.record(at=db.clock(), actor=actor, event="keys_rotated", details=details)
    return Rotation(version, counts)
