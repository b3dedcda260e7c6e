"""Who is calling: the bearer key checked by the service, the scope a route needs, its rate.

Routes take a `Principal` from `controller(scope)` or `operator()`. A controller's key reaches only
its own tenant's objects: the tenant always comes from the key, never from the body or the path.
A key checked once is remembered for `KeyCache.ttl` seconds (by the SHA-256 of what was presented),
so a busy controller's calls do not each read the key's record: a revocation or an expiry takes
effect in this process within that time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ...core.errors import AccessDenied
from ...service import apikeys
from ...service.apikeys import Principal
from ...service.workspace import Workspace

_bearer = HTTPBearer(auto_error=False, description="an API key: `dsr apikey create --tenant NAME`")


class KeyCache:
    def __init__(self, ws: Workspace, ttl: float = 2.0, clock=time.monotonic):
        self.ws, self.ttl, self.clock = ws, ttl, clock
        self._known: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    async def principal(self, token: str | None) -> Principal:
        digest = hashlib.sha256(token.encode()).hexdigest() if token else ""
        with self._lock:
            known = self._known.get(digest)
        if known is not None and known[1] > self.clock():
            return known[0]
        who = await run_in_threadpool(apikeys.authenticate, self.ws, token)  # refusals are not kept
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[digest] = (who, self.clock() + self.ttl)
        return who


async def _principal(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    who = await request.app.state.keys.principal(credentials.credentials if credentials else None)
    request.state.key_id = who.key_id  # for the access log: ids only
    request.app.state.limiter.take(who.key_id)
    return who


def controller(scope: str) -> Callable[..., Principal]:
    """A tenant's key holding `scope`."""

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal:
        who = await _principal(request, credentials)
        if who.tenant is None:
            raise AccessDenied("an operator's key has no tenant: this route needs a controller's key (scope)")
        who.require(scope)
        return who

    return dependency


def operator() -> Callable[..., Principal]:
    """The operator's key."""

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal:
        who = await _principal(request, credentials)
        who.require("operator:read")
        return who

    return dependency
