"""Backups: which exist, until when they may, and which still hold data erased since they were taken.

Backups are declared per store in `retention_rules.yaml` (a directory of dump files or a prefix in
an s3 store, how a backup's time is read, the rotation period). `scan` lists every location and
records what it saw: only a listing confirms a backup is gone, never date arithmetic. A location
that cannot be listed changes nothing and is reported `unknown`. A backup still present after its
due date is overdue: a promise being broken.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from connectors import Connector, StoreError, StoreUnavailable, connector_class
from connectors.ages import key_date_reader

from ..core.config import Config
from ..state.backups import Listed, ScanResult
from ..state.db import StateDB
from .rules import Backup


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def list_location(
    backup: Backup, config: Config, connector: Callable[[str], Connector]
) -> tuple[list[Listed], int]:
    """The backups at a location with their times, and how many could not be dated."""
    read_date = key_date_reader(backup.time.name_date) if backup.time.name_date else None
    entries: list[tuple[str, datetime | None]] = []
    if backup.location.directory is not None:
        root = config.path(backup.location.directory)
        if not root.is_dir():
            raise StoreUnavailable(
                f"backups of {backup.store}: {backup.location.directory} is not a directory"
            )
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and not any(part.startswith(".") for part in relative.split("/")):
                entries.append((relative, datetime.fromtimestamp(path.stat().st_mtime, UTC)))
    else:
        s3 = connector(backup.location.s3_store)
        if not isinstance(s3, connector_class("s3")):
            raise StoreError(f"backups of {backup.store}: {backup.location.s3_store} is not an s3 store")
        entries = [(o.key, o.last_modified) for o in s3.listing(backup.location.prefix)]
    listed, undated = [], 0
    for name, modified in entries:
        taken = read_date(name) if read_date else modified
        if taken is None:
            undated += 1
        else:
            listed.append(Listed(name, _naive(taken)))
    return listed, undated


def scan(
    db: StateDB,
    declared: Sequence[Backup],
    config: Config,
    connector: Callable[[str], Connector],
    actor: str,
    now: datetime,
) -> list[ScanResult]:
    """List every declared location and record what each showed."""
    results = []
    for backup in declared:
        try:
            listed, undated = list_location(backup, config, connector)
        except (StoreError, OSError) as exc:
            message = str(exc) if isinstance(exc, StoreError) else f"{exc.__class__.__name__}"
            results.append(db.backups.record_unknown(backup.store, now, message, actor))
            continue
        results.append(
            db.backups.record_listing(backup.store, backup.rotation_period, listed, undated, now, actor)
        )
    return results


def after_change(
    db: StateDB,
    config: Config,
    connector: Callable[[str], Connector],
    backups: Sequence[Backup],
    holder: str,
    stores: Sequence[str],
    actor: str,
    request_id: int | None = None,
) -> int:
    """After an erasure, sweep or purge changed `stores`: list their declared `backups` now, and link
    those taken before."""
    return after_changes(db, config, connector, backups, [(holder, stores, request_id)], actor)[0]


def after_changes(
    db: StateDB,
    config: Config,
    connector: Callable[[str], Connector],
    backups: Sequence[Backup],
    changes: Sequence[tuple[str, Sequence[str], int | None]],
    actor: str,
) -> list[int]:
    """`after_change` for a batch's (holder, stores, request id): the backups are listed once."""
    declared = [b for b in backups if any(b.store in stores for _, stores, _ in changes)]
    if not declared:
        return [0] * len(changes)
    now = db.clock()
    scan(db, declared, config, connector, actor, now)
    links = [(holder, [b.store for b in declared if b.store in stores], r) for holder, stores, r in changes]
    return db.backups.link_many(links, now, actor)
