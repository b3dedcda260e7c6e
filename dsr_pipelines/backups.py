"""Backups: which exist, until when they may, and which still hold data erased since they were taken.

Backups are declared per store in `retention_rules.yaml` (a directory of dump files or a prefix in
an s3 store, how a backup's time is read, the rotation period). `scan` lists every location,
records each backup present with its time and the date by which rotation must have removed it,
and marks as gone those no longer listed: only a listing confirms a backup is gone, never date
arithmetic. A location that cannot be listed changes nothing and is reported `unknown`.

Every erasure and sweep that changed a store is linked to that store's backups taken before it
and still present. It is `awaiting_backup_ageout` until a scan has confirmed every one of them
gone, then `backups_aged_out`, audited. A backup still present after its due date is overdue: a
promise being broken, reported by `dsr backups status` and failing the daily Dagster job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from connectors import Connector, S3Connector, StoreError, StoreUnavailable
from connectors.ages import key_date_reader

from .config import Config
from .ledger import metadata
from .request_store import RequestStore, identities_t, requests_t
from .retention import Backup

AWAITING = "awaiting_backup_ageout"
AGED_OUT = "backups_aged_out"

backups_t = sa.Table(
    "dsr_backups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("store", sa.String(63), nullable=False),
    sa.Column("name", sa.String(600), nullable=False),  # with store, a key MariaDB accepts
    sa.Column("taken_at", sa.DateTime, nullable=False),
    sa.Column("due_by", sa.DateTime, nullable=False),  # taken_at + rotation: gone by then
    sa.Column("first_seen", sa.DateTime, nullable=False),
    sa.Column("gone_at", sa.DateTime),  # the scan that no longer listed it
    sa.UniqueConstraint("store", "name"),
)
backup_scans_t = sa.Table(
    "dsr_backup_scans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("store", sa.String(63), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("error", sa.Text),  # set: the location could not be listed, the state is unknown
)
# What still holds erased data: `request:7` or `sweep:3`, and the backups taken before it.
backup_links_t = sa.Table(
    "dsr_backup_links",
    metadata,
    sa.Column("holder", sa.String(40), primary_key=True),
    sa.Column("backup_id", sa.Integer, sa.ForeignKey("dsr_backups.id"), primary_key=True),
)
ageout_t = sa.Table(
    "dsr_backup_ageout",
    metadata,
    sa.Column("holder", sa.String(40), primary_key=True),
    sa.Column("request_id", sa.Integer),
    sa.Column("state", sa.String(30), nullable=False),
    sa.Column("since", sa.DateTime, nullable=False),
)


@dataclass(frozen=True)
class Listed:
    name: str
    taken_at: datetime


@dataclass
class ScanResult:
    store: str
    present: int = 0
    new: int = 0
    gone: int = 0
    undated: int = 0  # listed, but no time could be read from it: not tracked
    overdue: list[str] = field(default_factory=list)
    error: str | None = None  # the location could not be listed: state unknown

    @property
    def state(self) -> str:
        return "unknown" if self.error else ("overdue" if self.overdue else "ok")


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
        if not isinstance(s3, S3Connector):
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


class Inventory:
    """The backups seen, the scans, and what each erasure or sweep waits for."""

    def __init__(self, requests: RequestStore):
        self.rs = requests
        metadata.create_all(requests.engine, tables=[backups_t, backup_scans_t, backup_links_t, ageout_t])

    # -- scanning -----------------------------------------------------------------------------

    def scan(
        self,
        declared: Sequence[Backup],
        config: Config,
        connector: Callable[[str], Connector],
        actor: str,
        now: datetime | None = None,
    ) -> list[ScanResult]:
        now = now or self.rs.clock()
        results = []
        for backup in declared:
            try:
                listed, undated = list_location(backup, config, connector)
            except (StoreError, OSError) as exc:
                message = str(exc) if isinstance(exc, StoreError) else f"{exc.__class__.__name__}"
                results.append(ScanResult(backup.store, error=message))
                self._record_scan(backup.store, now, message, actor, {})
                continue
            results.append(self._update(backup, listed, undated, now, actor))
        return results

    def _update(
        self, backup: Backup, listed: list[Listed], undated: int, now: datetime, actor: str
    ) -> ScanResult:
        result = ScanResult(backup.store, present=len(listed), undated=undated)
        names = {b.name: b for b in listed}
        with self.rs.engine.begin() as conn:
            known = {
                r.name: r
                for r in conn.execute(
                    sa.select(backups_t).where(
                        backups_t.c.store == backup.store, backups_t.c.gone_at.is_(None)
                    )
                )
            }
            for name, item in names.items():
                if name not in known:
                    due = backup.rotation_period.add_to(item.taken_at)
                    conn.execute(
                        sa.insert(backups_t).values(
                            store=backup.store, name=name, taken_at=item.taken_at, due_by=due, first_seen=now
                        )
                    )
                    result.new += 1
            for name, row in known.items():
                if name not in names:
                    conn.execute(sa.update(backups_t).where(backups_t.c.id == row.id).values(gone_at=now))
                    result.gone += 1
            overdue = conn.execute(
                sa.select(backups_t.c.name).where(
                    backups_t.c.store == backup.store, backups_t.c.gone_at.is_(None), backups_t.c.due_by < now
                )
            ).scalars()
            result.overdue = sorted(overdue)
        self._record_scan(
            backup.store,
            now,
            None,
            actor,
            {
                "present": result.present,
                "new": result.new,
                "gone": result.gone,
                "overdue": len(result.overdue),
            },
        )
        return result

    def _record_scan(self, store: str, now: datetime, error: str | None, actor: str, counts: dict) -> None:
        with self.rs.engine.begin() as conn:
            conn.execute(sa.insert(backup_scans_t).values(store=store, at=now, error=error))
            self.rs.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="backups_scanned",
                details={"store": store, **counts, **({"error": error, "state": "unknown"} if error else {})},
            )

    # -- what erased data waits for -----------------------------------------------------------

    def link(
        self, holder: str, stores: Sequence[str], at: datetime, actor: str, request_id: int | None = None
    ) -> int:
        """Tie an erasure or sweep that changed `stores` at `at` to their backups taken before it."""
        with self.rs.engine.begin() as conn:
            ids = list(
                conn.execute(
                    sa.select(backups_t.c.id).where(
                        backups_t.c.store.in_(list(stores)),
                        backups_t.c.gone_at.is_(None),
                        backups_t.c.taken_at < at,
                    )
                ).scalars()
            )
            known = set(
                conn.execute(
                    sa.select(backup_links_t.c.backup_id).where(backup_links_t.c.holder == holder)
                ).scalars()
            )
            for backup_id in sorted(set(ids) - known):
                conn.execute(sa.insert(backup_links_t).values(holder=holder, backup_id=backup_id))
            if (
                ids
                and conn.execute(sa.select(ageout_t.c.state).where(ageout_t.c.holder == holder)).scalar()
                is None
            ):
                conn.execute(
                    sa.insert(ageout_t).values(holder=holder, request_id=request_id, state=AWAITING, since=at)
                )
                self._audit(conn, holder, request_id, AWAITING, actor, at, {"backups": len(ids)})
        return len(ids)

    def refresh(self, actor: str, now: datetime | None = None) -> list[str]:
        """Holders whose every linked backup a scan has confirmed gone become aged out; returns them."""
        now = now or self.rs.clock()
        done = []
        with self.rs.engine.begin() as conn:
            waiting = conn.execute(sa.select(ageout_t).where(ageout_t.c.state == AWAITING)).fetchall()
            for row in waiting:
                left = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(backup_links_t.join(backups_t, backups_t.c.id == backup_links_t.c.backup_id))
                    .where(backup_links_t.c.holder == row.holder, backups_t.c.gone_at.is_(None))
                ).scalar()
                if left == 0:
                    conn.execute(
                        sa.update(ageout_t)
                        .where(ageout_t.c.holder == row.holder)
                        .values(state=AGED_OUT, since=now)
                    )
                    self._audit(conn, row.holder, row.request_id, AGED_OUT, actor, now, {})
                    done.append(row.holder)
        return done

    def _audit(
        self, conn, holder: str, request_id: int | None, event: str, actor: str, at: datetime, details: dict
    ) -> None:
        """A ledger event about a holder; for a request, with its tenant and subject references."""
        tenant, refs = None, []
        if request_id is not None:
            tenant = conn.execute(
                sa.select(requests_t.c.tenant).where(requests_t.c.id == request_id)
            ).scalar()
            refs = list(
                conn.execute(
                    sa.select(identities_t.c.ref).where(identities_t.c.request_id == request_id)
                ).scalars()
            )
        self.rs.ledger.append(
            conn,
            at=at,
            actor=actor,
            event=event,
            tenant=tenant,
            request_id=request_id,
            subject_refs=refs,
            details={"holder": holder, **details},
        )

    # -- reading ------------------------------------------------------------------------------

    def state_of(self, holder: str) -> dict | None:
        """For `dsr status`: the age-out state and the backups still holding the data."""
        with self.rs.engine.connect() as conn:
            row = conn.execute(sa.select(ageout_t).where(ageout_t.c.holder == holder)).first()
            if row is None:
                return None
            backups = conn.execute(
                sa.select(backups_t)
                .join(backup_links_t, backup_links_t.c.backup_id == backups_t.c.id)
                .where(backup_links_t.c.holder == holder)
                .order_by(backups_t.c.taken_at)
            ).fetchall()
        return {
            "state": row.state,
            "since": row.since.isoformat(),
            "backups": [
                {
                    "store": b.store,
                    "name": b.name,
                    "taken_at": b.taken_at.isoformat(),
                    "due_by": b.due_by.isoformat(),
                    "gone_at": b.gone_at.isoformat() if b.gone_at else None,
                }
                for b in backups
            ],
        }

    def backups(self) -> list[dict]:
        with self.rs.engine.connect() as conn:
            rows = conn.execute(
                sa.select(backups_t).order_by(backups_t.c.store, backups_t.c.taken_at)
            ).fetchall()
        return [dict(r._mapping) for r in rows]

    def last_scans(self) -> dict[str, dict]:
        with self.rs.engine.connect() as conn:
            rows = conn.execute(sa.select(backup_scans_t).order_by(backup_scans_t.c.id)).fetchall()
        return {r.store: {"at": r.at, "error": r.error} for r in rows}

    def waiting(self) -> list[dict]:
        with self.rs.engine.connect() as conn:
            rows = conn.execute(sa.select(ageout_t).order_by(ageout_t.c.holder)).fetchall()
        return [dict(r._mapping) for r in rows]


def after_change(
    requests: RequestStore,
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
    declared = [b for b in backups if b.store in stores]
    if not declared:
        return 0
    inventory = Inventory(requests)
    now = requests.clock()
    inventory.scan(declared, config, connector, actor, now)
    return inventory.link(holder, [b.store for b in declared], now, actor, request_id)
