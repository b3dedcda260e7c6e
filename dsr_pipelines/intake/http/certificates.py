"""Certificates: an erasure's (`/v1/requests/{id}/certificate`) and a purged tenant's
(`/v1/tenant/certificate`), as JSON, or as a page a person reads (`Accept: text/html`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ...service import requests, tenants
from ...service.apikeys import Principal
from .auth import controller
from .models import Id
from .pages import erasure_certificate
from .requests import PROBLEMS

router = APIRouter(tags=["certificates"])
Reader = Annotated[Principal, Depends(controller("requests:read"))]
BOTH = {200: {"content": {"application/json": {}, "text/html": {}}, "description": "the certificate"}}


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


@router.get("/v1/requests/{request_id}/certificate", responses={**PROBLEMS, **BOTH})
def erasure(request: Request, request_id: Id, who: Reader):
    """What was erased where, what was kept and why, the probe's verdict, the backups still holding
    the subject, and the ledger events that prove it (erasures that completed)."""
    ws = request.app.state.ws
    requests.of_tenant(ws, who.tenant, request_id)
    data = requests.certificate(ws, request_id)
    return HTMLResponse(erasure_certificate(data)) if _wants_html(request) else JSONResponse(data)


@router.get("/v1/tenant/certificate", responses={**PROBLEMS, **BOTH})
def tenant(request: Request, who: Reader) -> JSONResponse:
    """After the key's tenant was purged: what was removed, archived and kept, and its backups."""
    return JSONResponse(tenants.certificate(request.app.state.ws, who.tenant))
