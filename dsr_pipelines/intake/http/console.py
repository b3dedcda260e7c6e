"""The operator's console: one read-only page, rendered here (no script, no CDN).

A browser has no bearer key, so `dsr console` prints a link with a short-lived ticket; opening it
sets a session cookie (HttpOnly, SameSite=Strict, path /console) and shows the page. An operator's
API key in `Authorization` works too. Not part of the API's OpenAPI: it is a page, not an API.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...core.errors import AccessDenied
from ...core.html import page
from ...service import apikeys, overview
from .pages import console as render

router = APIRouter(prefix="/console", include_in_schema=False)
COOKIE = "dsr_console"


@router.get("/enter")
def enter(request: Request, ticket: str | None = None) -> Response:
    session = apikeys.console_session(request.app.state.ws, ticket)
    answer = RedirectResponse("/console", status_code=303)
    answer.set_cookie(
        COOKIE,
        session,
        max_age=apikeys.SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        path="/console",
        secure=request.url.scheme == "https",
    )
    return answer


@router.get("")
async def show(request: Request) -> HTMLResponse:
    ws = request.app.state.ws
    if not apikeys.console_allowed(ws, request.cookies.get(COOKIE)):
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else None
        try:
            who = await request.app.state.keys.principal(token)
            who.require("operator:read")
        except AccessDenied:
            message = "<h1>Not signed in</h1><p>Run <code>dsr console</code> for a link to this page.</p>"
            return HTMLResponse(page("dsr console", message), status_code=401)
    view = await run_in_threadpool(overview.overview, ws)
    return HTMLResponse(render(view))
