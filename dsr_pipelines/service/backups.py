"""Backups: scan the declared locations (ageing out what waited for them), their status, and replay
erasures into a store restored from a backup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..core.errors import DsrError
from ..retain import backups, tombstones
from ..retain.certificate import refresh_certificate
from ..retain.rules import require_valid
from ..state.backups import AGED_OUT, AWAITING, ScanResult
from .workspace import Workspace


def scan(ws: Workspace, actor: str, as_of: datetime | None = None) -> list[ScanResult]:
    """List every declared backup location; confirm what is gone and age out what waited for it.

    Refused when no backups are declared: a scan of nothing would pass for a clean bill of health.
    """
    require_valid(ws.rules, ws.store_kinds(), ws.datamap)
    if not ws.rules.backups:
        raise DsrError(
            f"no backups declared in {ws.config.rules_path.name} (backups: store, location, rotation)"
        )
    now = as_of or ws.db.clock()
    results = backups.scan(ws.db, ws.rules.backups, ws.config, ws.connectors, actor, now)
    for holder in ws.db.backups.refresh(actor, now):
        kind, _, name = holder.partition(":")
        if kind == "tenant":  # a purge's certificate says which backups still hold the tenant
            refresh_certificate(ws.config, ws.db, name)
    return results


@dataclass(frozen=True)
class BackupStatus:
    backups: list[dict]  # every backup seen: taken, due by, gone
    scans: dict[str, dict]  # the last scan of each store's location
    waiting: list[dict]  # erasures, sweeps and purges and their age-out state

    def counts(self) -> dict[str, int]:
        states = [w["state"] for w in self.waiting]
        return {"aged_out": states.count(AGED_OUT), "awaiting": states.count(AWAITING)}


def status(ws: Workspace) -> BackupStatus:
    db = ws.db
    return BackupStatus(db.backups.seen(), db.backups.last_scans(), db.backups.waiting())


def replay(ws: Workspace, store: str, actor: str) -> dict[str, int]:
    """Apply again, to a store restored from a backup, every erasure whose tombstones match its rows."""
    if ws.config.store(store).kind != "sql":
        raise DsrError(f"store {store}: replay reads primary keys, which only sql stores have here")
    if store not in ws.datamap.stores:
        raise DsrError(f"store {store} is not in the datamap")
    return tombstones.replay(ws.db, store, ws.datamap.stores[store], ws.connector(store), actor)
