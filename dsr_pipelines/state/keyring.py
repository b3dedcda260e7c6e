"""The state database's keyring: its data keys, wrapped by the master key, and the master key's
check value, compared before anything else is read, so a wrong key is refused at once.

A new database gets the data keys of `Keys.derived` (what every earlier release used), so a
database made before key versions keeps its references, tombstones and ciphertexts when
`dsr db upgrade` adopts them, after proving the master key against what it already holds.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag

from ..core.keys import ENCRYPTION, PURPOSES, KeyMismatch, Keys, MasterKey
from .migrate import UPGRADE, SchemaError
from .schema import key_check_t, keys_t, tombstone_check_t
from .sealed import SEALED
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
    for item in SEALED:
        if conn.execute(sa.select(item.column).where(item.column.is_not(None)).limit(1)).first():
            return True
    return conn.execute(sa.select(tombstone_check_t.c.check).limit(1)).first() is not None


def _proves(conn: sa.Connection, keys: Keys) -> bool:
    """Whether `keys` open what the database holds: an encrypted value, or the tombstone check."""
    for item in SEALED:
        row = conn.execute(sa.select(item.table).where(item.column.is_not(None)).limit(1)).first()
        if row is not None:
            try:
                keys.decrypt(getattr(row, item.column.name), item.context(row))
                return True
            except InvalidTag:
                return False
    check = conn.execute(sa.select(tombstone_check_t.c.check)).scalar()
    if check is not None:
        return hmac.compare_digest(check, Tombstones.check_for(keys.tombstones))
    return True  # nothing was ever keyed: any key may adopt the database


# -- rotation -------------------------------------------------------------------------------
#
# A rotation adds an encryption key (wrapped by the current master key), re-encrypts every sealed
# value under it, then re-wraps all data keys under the new master key and drops the old
# encryption key, in one transaction. Until that last step the database opens with the current
# key, holding both encryption keys, so a rotation cut short is resumed by running it again.


def begin_rotation(engine: sa.Engine, master: MasterKey, keys: Keys, now: datetime) -> Keys:
    """`keys` with a new encryption key first (the one a resumed rotation already added, if any)."""
    if len(keys.encryption) > 1:
        return keys
    version = keys.encryption[0][0] + 1
    key = os.urandom(32)
    with engine.begin() as conn:
        wrapped = master.wrap(key, _label(ENCRYPTION, version))
        conn.execute(
            sa.insert(keys_t).values(purpose=ENCRYPTION, version=version, wrapped=wrapped, created_at=now)
        )
    return replace(keys, encryption=((version, key), *keys.encryption))


def reencrypt(engine: sa.Engine, keys: Keys, batch: int = 500) -> dict[str, int]:
    """Every sealed value under the newest encryption key; how many changed, per table."""
    done: dict[str, int] = {}
    for item in SEALED:
        key = [c for c in item.table.primary_key.columns]
        last = None
        while True:
            with engine.begin() as conn:
                query = sa.select(item.table).where(item.column.is_not(None)).order_by(*key).limit(batch)
                if last is not None:
                    query = query.where(sa.tuple_(*key) > sa.tuple_(*last))
                rows = conn.execute(query).fetchall()
                for row in rows:
                    blob = keys.reencrypt(getattr(row, item.column.name), item.context(row))
                    if blob is not None:
                        where = sa.and_(*(c == getattr(row, c.name) for c in key))
                        conn.execute(sa.update(item.table).where(where).values({item.column.name: blob}))
                        done[item.table.name] = done.get(item.table.name, 0) + 1
            if len(rows) < batch:
                break
            last = tuple(getattr(rows[-1], c.name) for c in key)
    return done


def finish_rotation(engine: sa.Engine, old: MasterKey, new: MasterKey, keys: Keys, now: datetime) -> Keys:
    """Re-wrap the data keys under `new` and keep only the newest encryption key: from now on the
    database opens with `new` alone."""
    with engine.begin() as conn:
        check = conn.execute(sa.select(key_check_t.c.check).with_for_update()).scalar()
        if not hmac.compare_digest(check, old.check_value()):
            raise _mismatch(old)
        kept = replace(keys, encryption=keys.encryption[:1])
        conn.execute(sa.delete(keys_t))
        conn.execute(sa.insert(keys_t), _wrapped(new, kept, now))
        conn.execute(sa.update(key_check_t).values(check=new.check_value(), since=now))
    return kept
