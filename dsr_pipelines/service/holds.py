"""Legal holds: place, release, list; and which deferred requests are ready to run again."""

from __future__ import annotations

from datetime import datetime

from ..core.errors import DsrError
from ..state.holds import Hold as Hold
from ..state.holds import HoldError as HoldError
from ..state.holds import UnknownHold
from .requests import parse_identities
from .workspace import Workspace


def add(
    ws: Workspace,
    tenant: str,
    reason: str,
    actor: str,
    identity: str | None = None,
    store: str | None = None,
    collection: str | None = None,
    until: datetime | None = None,
) -> int:
    """A hold on one subject (`identity`, KIND=VALUE) or on one collection of a store; returns its id."""
    ws.config.check_tenant(tenant)
    ident = parse_identities(ws, [identity])[0] if identity else None
    if store is not None:
        ws.config.store(store)  # an unknown store is refused, naming the known ones
        collections = ws.datamap.stores[store].collections if store in ws.datamap.stores else {}
        if collection not in collections:
            raise DsrError(f"store {store} has no collection {collection} in the datamap")
    return ws.db.holds.add(
        tenant, reason, actor, identity=ident, store=store, collection=collection, until=until
    )


def of_tenant(ws: Workspace, tenant: str, hold_id: int) -> Hold:
    """The hold, when it is `tenant`'s; another tenant's is as unknown as one that does not exist."""
    hold = ws.db.holds.get(hold_id)
    if hold.tenant != tenant:
        raise UnknownHold(f"no legal hold {hold_id}")
    return hold


def release(ws: Workspace, hold_id: int, actor: str) -> Hold:
    return ws.db.holds.release(hold_id, actor)


def list_holds(ws: Workspace, tenant: str | None = None) -> list[tuple[Hold, str]]:
    """Every hold (of a tenant), with its state now: active, released or expired (past its date)."""
    if tenant is not None:
        ws.config.check_tenant(tenant)
    now = ws.db.clock()
    return [
        (h, "active" if h.active(now) else ("released" if h.released_at else "expired"))
        for h in ws.db.holds.list(tenant)
    ]


def ready_to_rerun(ws: Workspace) -> list[tuple[int, list[Hold]]]:
    """Requests deferred by holds that are all released or past their date, with those holds."""
    return [(request_id, ws.db.holds.deferring(request_id)) for request_id in ws.db.holds.ready()]
