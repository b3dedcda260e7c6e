"""The application: routes, error answers, guards, and one workspace for the process.

    uvicorn --factory dsr_pipelines.intake.http.app:from_environment   # or: dsr serve

The interactive docs at /docs are served with their own assets (fastapi-offline): nothing is fetched
from a CDN, so they work on a machine without a network.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from ...orchestration.heap import freeze_imports
from ...service.webhooks import Retry
from ...service.workspace import Workspace
from . import certificates, console, health, holds, problems, requests, webhooks
from .auth import KeyCache
from .background import running
from .batching import Submitter
from .guards import AccessLog, BodyLimit, RateLimiter


@dataclass(frozen=True)
class Limits:
    body_bytes: int = 1_000_000  # a bulk submission of about 5,000 requests
    rate: float = 50.0  # calls a second per key, steady
    burst: int = 200  # calls a key may make at once
    key_cache: float = 2.0  # seconds a checked key is remembered (a revocation takes effect within it)
    deliver_every: float = 5.0  # seconds between background passes: callbacks, package expiry (0: none)
    retry: Retry = Retry()


def create_app(config_path: str | Path, limits: Limits = Limits()) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        ws = Workspace.open(config_path)
        _ = ws.db, ws.datamap  # opened before the first call, not raced for by two
        freeze_imports()  # a full collection over the imports would stall every call in flight
        app.state.ws = ws
        app.state.submitter = Submitter(ws)
        app.state.keys = KeyCache(ws, limits.key_cache)
        try:
            with running(ws, limits.deliver_every, limits.retry):
                yield
        finally:
            app.state.submitter.close()
            ws.close()

    app = FastAPIOffline(
        title="dsr-pipelines: data-subject requests",
        version="1",
        description="Controllers submit and follow data-subject requests with a key of their tenant.",
        lifespan=lifespan,
    )
    app.state.limiter = RateLimiter(limits.rate, limits.burst)
    problems.install(app)
    app.include_router(health.router)
    app.include_router(requests.router)
    app.include_router(certificates.router)
    app.include_router(holds.router)
    app.include_router(console.router)
    app.include_router(webhooks.router)
    app.include_router(webhooks.operator_router)
    app.add_middleware(BodyLimit, limit=limits.body_bytes)
    app.add_middleware(AccessLog)
    return app


def from_environment() -> FastAPI:
    """For `uvicorn --factory`: the project of $DSR_CONFIG (or ./dsr.yaml)."""
    return create_app(os.environ.get("DSR_CONFIG", "dsr.yaml"))
