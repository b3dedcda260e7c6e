"""Errors as RFC 9457 problem details (`application/problem+json`).

A `DsrError`'s message is written for a user and never carries identities (see `core/errors.py`);
anything else is answered with a bare 500 and logged by type only.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...core.errors import (
    AccessDenied,
    DsrError,
    RequestStateError,
    TenantError,
    UnknownRequest,
)
from ...service.holds import HoldError, UnknownHold
from ...service.requests import IdempotencyConflict, NoCertificate, PackageGone
from ...service.tenants import NoCertificate as NoTenantCertificate
from ...service.webhooks import UnknownWebhook

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("dsr.http")

_STATUS: list[tuple[type[DsrError], int]] = [
    (UnknownRequest, 404),
    (PackageGone, 410),
    (NoCertificate, 409),
    (NoTenantCertificate, 404),
    (UnknownHold, 404),
    (UnknownWebhook, 404),
    (HoldError, 409),
    (IdempotencyConflict, 409),
    (RequestStateError, 409),
    (TenantError, 404),  # a tenant that is not the key's is as unknown as one that does not exist
]


def problem(
    status: int, title: str, detail: str | None = None, headers: dict | None = None, **extra
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body |= extra
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: DsrError) -> int:
    if hasattr(exc, "retry_after"):  # over a key's rate (guards.RateLimited)
        return 429
    if isinstance(exc, AccessDenied):
        return 403 if "scope" in str(exc) else 401
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    429: "Too Many Requests",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(DsrError)
    async def dsr_error(request: Request, exc: DsrError) -> JSONResponse:
        code = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
        if code == 429:
            headers = {"Retry-After": str(exc.retry_after)}
        problems = getattr(exc, "problems", None)
        extra = {"errors": problems} if problems else {}
        return problem(code, _TITLES.get(code, "Error"), str(exc), headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and what, never the rejected input (it may be an identity).
        errors = [{"at": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        return problem(422, "Unprocessable Content", "the request does not match the schema", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unexpected %s on %s %s", type(exc).__name__, request.method, request.scope.get("route_path", "?")
        )
        return problem(500, "Internal Server Error")
