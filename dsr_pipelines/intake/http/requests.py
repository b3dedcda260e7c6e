"""/v1/requests: submit (one, or a backlog all-or-nothing), follow, list, cancel, extend.

Each handler is one service call with the key's tenant; another tenant's request is a 404, as one
that does not exist.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from ...core.errors import DsrError
from ...core.lifecycle import STATES
from ...service import requests as service
from ...service.apikeys import Principal
from ...service.requests import Call, Submission
from .auth import controller
from .models import Extension, Id, Instant, NewRequest, Page, Receipt, Receipts, RequestDetail

router = APIRouter(prefix="/v1/requests", tags=["requests"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="retries with the same key and body return the same requests",
    ),
]
MAX_PAGE = 200
NEW_REQUEST = "#/components/schemas/NewRequest"
PROBLEMS = {
    400: {"description": "not a valid request"},
    401: {"description": "no valid API key"},
    403: {"description": "the key lacks the scope"},
    404: {"description": "no such request (or another tenant's)"},
    410: {"description": "gone: deleted after its period, or its subject was erased since"},
    409: {"description": "the request's state, or the Idempotency-Key, does not allow it"},
    413: {"description": "the body is too large"},
    429: {"description": "over the key's rate; see Retry-After"},
}


def _submission(who: Principal, body: NewRequest) -> Submission:
    return Submission(
        tenant=who.tenant,
        type=body.type,
        identities=body.pairs(),
        verified=body.verified,
        external_ref=body.external_ref,
    )


@router.post("", status_code=201, response_model=Receipt, responses=PROBLEMS)
async def submit(
    request: Request,
    body: NewRequest,
    idempotency_key: IdempotencyKey = None,
    who: Principal = Depends(controller("requests:write")),
) -> Receipt:
    """Submit one request; the receipt has its id, state and due date."""
    call = Call([("request 1", _submission(who, body))], who.actor, idempotency_key)
    (record,) = await asyncio.wrap_future(request.app.state.submitter.submit(call))
    return Receipt.of(record)


@router.post(
    "/bulk",
    status_code=201,
    response_model=Receipts,
    responses=PROBLEMS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"$ref": NEW_REQUEST}}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def submit_bulk(
    request: Request,
    idempotency_key: IdempotencyKey = None,
    who: Principal = Depends(controller("requests:write")),
) -> Receipts:
    """A backlog: a JSON array, or NDJSON (one request a line). All are submitted or none; each
    problem is named by its place (request 3, line 7)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DsrError("the body is not UTF-8 text") from None
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/x-ndjson":
        entries = service.ndjson_entries(text, NewRequest)
    else:
        entries = _array_entries(text)
    ready = [(place, _submission(who, e) if isinstance(e, NewRequest) else e) for place, e in entries]
    call = Call(ready, who.actor, idempotency_key)
    records = await asyncio.wrap_future(request.app.state.submitter.submit(call))
    return Receipts(items=[Receipt.of(r) for r in records])


def _array_entries(text: str) -> list[tuple[str, NewRequest | str]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DsrError(f"the body is not JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(items, list):
        raise DsrError("the body is a JSON array of requests (or NDJSON: Content-Type application/x-ndjson)")
    return [(f"request {i}", service.entry_of(item, NewRequest)) for i, item in enumerate(items, 1)]


@router.get("/{request_id}", response_model=RequestDetail, responses=PROBLEMS)
def follow(
    request: Request, request_id: Id, who: Principal = Depends(controller("requests:read"))
) -> RequestDetail:
    """State, due date, what each store did (counts and reasons), the probe's verdict, and the
    backups still holding erased data with when each is expected to age out."""
    ws = request.app.state.ws
    service.of_tenant(ws, who.tenant, request_id)
    return RequestDetail.of_status(service.status(ws, request_id))


@router.get("", response_model=Page, responses=PROBLEMS)
def list_requests(
    request: Request,
    state: Annotated[str | None, Query(description=f"one of: {', '.join(STATES)}")] = None,
    due_before: Annotated[Instant | None, Query(description="unfinished requests due before it")] = None,
    cursor: Annotated[str | None, Query(description="from the previous page's next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    who: Principal = Depends(controller("requests:read")),
) -> Page:
    """This tenant's requests, oldest first, a page at a time."""
    found = service.list_requests(
        request.app.state.ws,
        state,
        who.tenant,
        due_before=due_before,
        after=cursor_id(cursor),
        limit=limit + 1,
    )
    return page_of(found, limit)


def cursor_id(cursor: str | None) -> int | None:
    if cursor is not None and not (cursor.isdigit() and len(cursor) < 12):
        raise DsrError("cursor: not one this API gave")
    return int(cursor) if cursor is not None else None


def page_of(found: list, limit: int) -> Page:
    """A page of `limit` from `limit + 1` found: the extra one says whether there is a next page."""
    items = found[:limit]
    more = len(found) > limit
    return Page(items=[Receipt.of(r) for r in items], next_cursor=str(items[-1].id) if more else None)


@router.post("/{request_id}/cancel", response_model=Receipt, responses=PROBLEMS)
def cancel(
    request: Request, request_id: Id, who: Principal = Depends(controller("requests:write"))
) -> Receipt:
    """Withdraw a request that has not started; its identities are removed at once."""
    ws = request.app.state.ws
    service.of_tenant(ws, who.tenant, request_id)
    return Receipt.of(service.cancel(ws, request_id, who.actor))


@router.post("/{request_id}/extend", response_model=Receipt, responses=PROBLEMS)
def extend(
    request: Request, request_id: Id, body: Extension, who: Principal = Depends(controller("requests:write"))
) -> Receipt:
    """Push the due date back, with a reason: two months at most in all (GDPR Art. 12(3))."""
    ws = request.app.state.ws
    service.of_tenant(ws, who.tenant, request_id)
    service.extend(ws, request_id, body.by, body.reason, who.actor)
    return Receipt.of(service.of_tenant(ws, who.tenant, request_id))


@router.get(
    "/{request_id}/package",
    responses={
        **PROBLEMS,
        200: {"content": {"application/zip": {}}, "description": "the package: its files and manifest.json"},
        410: {"description": "past its download period, or its subject was erased since: deleted"},
    },
    response_class=FileResponse,
)
def package(request: Request, request_id: Id, who: Principal = Depends(controller("requests:read"))):
    """A completed access request's package as a zip: JSON and Parquet per collection and
    manifest.json with each file's SHA-256. Available for the project's `package_days` after
    completion; then deleted."""
    ws = request.app.state.ws
    service.of_tenant(ws, who.tenant, request_id)
    folder = Path(tempfile.mkdtemp(prefix="dsr-package-"))
    try:
        service.export(ws, request_id, folder / "package", who.actor)
        archive = shutil.make_archive(str(folder / f"request-{request_id}"), "zip", folder / "package")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    # The decrypted files live only while this answer streams.
    cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    return FileResponse(
        archive, media_type="application/zip", filename=f"request-{request_id}.zip", background=cleanup
    )
