"""The state database's keyring: its data keys, wrapped by the master key, and the master key's
check value, compared before anything else is read, so a wrong key is refused at once.

A new database gets the data keys of `Keys.derived` (what every earlier release used), so a
database made before key versions keeps its references, tombstones and ciphertexts when
`dsr db upgrade` adopts them, after proving the master key against what it already holds.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag

from ..core.keys import ENCRYPTION, PURPOSES, KeyMismatch, Keys, MasterKey
from .migrate import UPGRADE, SchemaError
from .schema import (
    holds_t,
    identities_t,
    key_check_t,
    keys_t,
    links_t,
    tombstone_check_t,
)
from .tombstones import Tombstones


def _label(purpose: str, version: int) -> str:
    return f"{purpose}:{version}"


def _mismatch(master: MasterKey) -> KeyMismatch:
    return KeyMismatch(
        f"{master.source} is not the key this state database was made with: nothing was read or written"
    )


def load(engine: sa.Engine, master: MasterKey, now: datetime) -> Keys:
    """The data keys, once the master key proves to be the database's; a new database gets its own."""
    with engine.connect() as conn:
        check = conn.execute(sa.select(key_check_t.c.check)).scalar()
        if check is None:
            if _holds_secrets(conn):
                raise SchemaError(f"the state database has no key versions yet: run `{UPGRADE}`")
            conn.commit()
        elif not hmac.compare_digest(check, master.check_value()):
            raise _mismatch(master)
        else:
            return _unwrap(master, conn.execute(sa.select(keys_t)).fetchall())
    try:
        with engine.begin() as conn:
            return _create(conn, master, now)
    except sa.exc.IntegrityError:  # another process made them first
        return load(engine, master, now)


def adopt(engine: sa.Engine, master: MasterKey, now: datetime) -> Keys:
    """For `dsr db upgrade`: keys for a database made before key versions, checked against its data."""
    with engine.begin() as conn:
        if conn.execute(sa.select(key_check_t.c.check)).scalar() is not None:
            return load(engine, master, now)
        derived = Keys.derived(master)
        if not _proves(conn, derived):
            raise _mismatch(master)
        return _create(conn, master, now)


def _create(conn: sa.Connection, master: MasterKey, now: datetime) -> Keys:
    keys = Keys.derived(master)
    conn.execute(sa.insert(key_check_t).values(id=1, check=master.check_value(), since=now))
    conn.execute(sa.insert(keys_t), _wrapped(master, keys, now))
    return keys


def _wrapped(master: MasterKey, keys: Keys, now: datetime) -> list[dict]:
    rows = [
        {"purpose": purpose, "version": 1, "wrapped": master.wrap(key, _label(purpose, 1)), "created_at": now}
        for purpose, key in zip(
            PURPOSES[:4], (keys.reference, keys.masking, keys.tombstones, keys.ledger), strict=True
        )
    ]
    rows += [
        {
            "purpose": ENCRYPTION,
            "version": v,
            "wrapped": master.wrap(key, _label(ENCRYPTION, v)),
            "created_at": now,
        }
        for v, key in keys.encryption
    ]
    return rows


def _unwrap(master: MasterKey, rows) -> Keys:
    plain = {(r.purpose, r.version): master.unwrap(r.wrapped, _label(r.purpose, r.version)) for r in rows}
    single = [plain[(purpose, 1)] for purpose in PURPOSES[:4]]
    encryption = tuple(sorted(((v, k) for (p, v), k in plain.items() if p == ENCRYPTION), reverse=True))
    return Keys(*single, encryption)


def _holds_secrets(conn: sa.Connection) -> bool:
    """Whether anything in the database was encrypted or keyed with some master key."""
    for column in (identities_t.c.ciphertext, holds_t.c.ciphertext, links_t.c.ciphertext):
        if conn.execute(sa.select(column).where(column.is_not(None)).limit(1)).first():
            return True
    return conn.execute(sa.select(tombstone_check_t.c.check).limit(1)).first() is not None


def _proves(conn: sa.Connection, keys: Keys) -> bool:
    """Whether `keys` open what the database holds: an identity, a hold, a link, or the tombstone check."""
    samples = [
        (identities_t.c.ciphertext, lambda r: f"request:{r.request_id}:{r.position}", identities_t),
        (holds_t.c.ciphertext, lambda r: f"hold:{r.id}", holds_t),
        (links_t.c.ciphertext, lambda r: f"link:{r.request_id}:{r.link}", links_t),
    ]
    for column, context, table in samples:
        row = conn.execute(sa.select(table).where(column.is_not(None)).limit(1)).first()
        if row is not None:
            try:
                keys.decrypt(getattr(row, column.name), context(row))
                return True
            except InvalidTag:
                return False
    check = conn.execute(sa.select(tombstone_check_t.c.check)).scalar()
    if check is not None:
        return hmac.compare_digest(check, Tombstones.check_for(keys.tombstones))
    return True  # nothing was ever keyed: any key may adopt the database
