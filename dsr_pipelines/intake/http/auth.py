"""Who is calling: the bearer key checked by the service, the scope a route needs, its rate.

Routes take a `Principal` from `controller(scope)` or `operator()`. A controller's key reaches only
its own tenant's objects: the tenant always comes from the key, never from the body or the path.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ...core.errors import AccessDenied
from ...service import apikeys
from ...service.apikeys import Principal

_bearer = HTTPBearer(auto_error=False, description="an API key: `dsr apikey create --tenant NAME`")


def _principal(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    who = apikeys.authenticate(request.app.state.ws, credentials.credentials if credentials else None)
    request.state.key_id = who.key_id  # for the access log: ids only
    request.app.state.limiter.take(who.key_id)
    return who


def controller(scope: str) -> Callable[..., Principal]:
    """A tenant's key holding `scope`."""

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal:
        who = _principal(request, credentials)
        if who.tenant is None:
            raise AccessDenied("an operator's key has no tenant: this route needs a controller's key (scope)")
        who.require(scope)
        return who

    return dependency


def operator() -> Callable[..., Principal]:
    """The operator's key."""

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal:
        who = _principal(request, credentials)
        who.require("operator:read")
        return who

    return dependency
