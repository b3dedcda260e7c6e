"""Tenants: terminate a controller's contract, purge its data once due, expire its archives."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from ..core.durations import parse_duration
from ..core.errors import DsrError
from ..retain.archive import expire_archives
from ..retain.certificate import read_certificate, write_certificate
from ..retain.purge import Purger, PurgeReport
from ..state.terminations import Termination
from .workspace import Workspace


def terminate(ws: Workspace, tenant: str, effective: datetime, grace: str | None, actor: str) -> Termination:
    """Record a termination once; the purge is due at the effective date plus the grace period."""
    ws.config.check_tenant(tenant)
    period = parse_duration(grace, "--grace") if grace else None
    return ws.db.terminations.terminate(tenant, effective, period, actor, set(ws.config.settings.tenants))


def purge(
    ws: Workspace, tenant: str, actor: str, dry_run: bool = False, run: str | None = None
) -> PurgeReport:
    """Purge a terminated tenant from every store, and write its certificate; the dry run says what a
    purge would do, at any time. A real purge before the termination is due is refused, whoever asks;
    one run at a time purges a tenant (`run`: the Dagster run, else a new id)."""
    termination = ws.db.terminations.require(tenant)
    purger = Purger(ws.config, ws.datamap, ws.rules, ws.db, ws.connectors)
    if dry_run:
        return purger.run(termination, actor, dry_run=True)
    if termination.due_at > ws.db.clock():
        raise DsrError(
            f"tenant {tenant}'s purge is due on {termination.due_at:%Y-%m-%d}; before that only --dry-run"
        )
    run = run or f"purge-{uuid.uuid4().hex}"
    lease = f"purge:{tenant}"
    until = ws.db.clock() + timedelta(seconds=ws.config.settings.lease_seconds)
    other = ws.db.leases.take(lease, run, until)
    if other is not None:
        raise DsrError(
            f"tenant {tenant} is being purged by run {other.run} (until {other.until:%Y-%m-%d %H:%M})"
        )
    try:
        report = purger.run(termination, actor)
        write_certificate(ws.config, ws.db, report, termination)
    finally:
        ws.db.leases.release(lease, run)
    return report


def due_purges(ws: Workspace) -> list[Termination]:
    """Terminations whose purge is due and not finished."""
    return ws.db.terminations.due()


def expire(ws: Workspace, actor: str, as_of: datetime | None = None) -> int:
    """Delete archived records whose legal obligation has ended by `as_of` (default: now)."""
    return expire_archives(ws.db, ws.connectors, actor, as_of or ws.db.clock())


def certificate(ws: Workspace, tenant: str) -> dict:
    """The tenant's purge certificate: what was removed where, what was archived and why, and the
    backups still holding its data (kept current as they age out)."""
    found = read_certificate(ws.config, ws.config.check_tenant(tenant))
    if found is None:
        raise NoCertificate(f"tenant {tenant} has not been purged: no certificate yet")
    return found


class NoCertificate(DsrError):
    pass
