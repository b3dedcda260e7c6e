"""/v1/holds: a controller places and releases legal holds on its own data.

A hold on a subject defers their erasure; a hold on a collection keeps it from erasure and retention
sweeps. Another tenant's hold is a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ...service import holds as service
from ...service.apikeys import Principal
from .auth import controller
from .models import HoldView, HoldViews, Id, NewHold
from .requests import PROBLEMS

router = APIRouter(prefix="/v1/holds", tags=["holds"])


@router.post("", status_code=201, response_model=HoldView, responses=PROBLEMS)
def place(request: Request, body: NewHold, who: Principal = Depends(controller("holds:write"))) -> HoldView:
    """A hold on one subject (`identity`) or on one collection of a store, until released or `until`."""
    ws = request.app.state.ws
    identity = f"{body.identity.kind}={body.identity.value}" if body.identity else None
    hold_id = service.add(
        ws, who.tenant, body.reason, who.actor, identity, body.store, body.collection, body.until
    )
    return HoldView.of(service.of_tenant(ws, who.tenant, hold_id), ws.db.clock())


@router.get("", response_model=HoldViews, responses=PROBLEMS)
def list_holds(request: Request, who: Principal = Depends(controller("holds:read"))) -> HoldViews:
    """This tenant's holds, with their state now (active, released, expired)."""
    ws = request.app.state.ws
    return HoldViews(items=[HoldView.of(h, ws.db.clock()) for h, _ in service.list_holds(ws, who.tenant)])


@router.post("/{hold_id}/release", response_model=HoldView, responses=PROBLEMS)
def release(request: Request, hold_id: Id, who: Principal = Depends(controller("holds:write"))) -> HoldView:
    """Release a hold: the requests it deferred run again."""
    ws = request.app.state.ws
    service.of_tenant(ws, who.tenant, hold_id)
    return HoldView.of(service.release(ws, hold_id, who.actor), ws.db.clock())
