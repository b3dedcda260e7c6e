"""/v1/webhooks: a controller's callback endpoints and their delivery log; /v1/operator: every
tenant's queue and deadlines, and the dead letters their endpoints left, for the operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from ...core.lifecycle import STATES
from ...service import requests
from ...service import webhooks as service
from ...service.apikeys import Principal
from .auth import controller, operator
from .models import Deliveries, Delivery, Id, NewWebhook, Page, WebhookCreated, WebhookView, WebhookViews
from .requests import MAX_PAGE, PROBLEMS, cursor_id, page_of

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
Writer = Annotated[Principal, Depends(controller("requests:write"))]
Reader = Annotated[Principal, Depends(controller("requests:read"))]
Operator = Annotated[Principal, Depends(operator())]
operator_router = APIRouter(prefix="/v1/operator", tags=["operator"])


@router.post("", status_code=201, response_model=WebhookCreated, responses=PROBLEMS)
def add(request: Request, body: NewWebhook, who: Writer) -> WebhookCreated:
    """Register an endpoint; its signing secret is in this answer only."""
    made = service.add(request.app.state.ws, who.tenant, str(body.url), who.actor)
    return WebhookCreated(**WebhookView.of(made.webhook).model_dump(), secret=made.secret)


@router.get("", response_model=WebhookViews, responses=PROBLEMS)
def list_webhooks(request: Request, who: Reader) -> WebhookViews:
    return WebhookViews(
        items=[WebhookView.of(h) for h in service.list_webhooks(request.app.state.ws, who.tenant)]
    )


@router.delete("/{webhook_id}", status_code=204, responses=PROBLEMS)
def remove(request: Request, webhook_id: Id, who: Writer) -> Response:
    """No more callbacks to this endpoint; what was queued for it is dropped."""
    ws = request.app.state.ws
    service.of_tenant(ws, who.tenant, webhook_id)
    service.remove(ws, webhook_id, who.actor)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=Deliveries, responses=PROBLEMS)
def deliveries(request: Request, webhook_id: Id, who: Reader) -> Deliveries:
    """Every event for this endpoint: its state, attempts and the last answer."""
    ws = request.app.state.ws
    service.of_tenant(ws, who.tenant, webhook_id)
    return Deliveries(items=[Delivery.of(e) for e in service.deliveries(ws, who.tenant, webhook_id)])


@operator_router.get("/dead-letters", response_model=Deliveries, responses=PROBLEMS)
def dead_letters(request: Request, who: Operator) -> Deliveries:
    """Callbacks that failed every attempt, of every tenant."""
    return Deliveries(items=[Delivery.of(e) for e in service.dead_letters(request.app.state.ws)])


@operator_router.post("/dead-letters/{event_id}/replay", response_model=Delivery, responses=PROBLEMS)
def replay(request: Request, event_id: Id, who: Operator) -> Delivery:
    """Queue a dead letter again."""
    return Delivery.of(service.replay(request.app.state.ws, event_id, who.actor))


@operator_router.get("/requests", response_model=Page, responses=PROBLEMS)
def queue(
    request: Request,
    who: Operator,
    tenant: Annotated[str | None, Query(max_length=200)] = None,
    state: Annotated[str | None, Query(description=f"one of: {', '.join(STATES)}")] = None,
    overdue: Annotated[bool, Query(description="only unfinished requests past their due date")] = False,
    cursor: Annotated[str | None, Query(description="from the previous page's next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Page:
    """Every tenant's requests (or one tenant's), oldest first, a page at a time."""
    found = requests.list_requests(
        request.app.state.ws, state, tenant, overdue=overdue, after=cursor_id(cursor), limit=limit + 1
    )
    return page_of(found, limit)
