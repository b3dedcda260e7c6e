"""Liveness (the process answers) and readiness (the state database opens at this release's schema)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...service import database
from .models import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, responses={503: {"description": "not ready"}})
def ready(request: Request) -> Readiness:
    return Readiness(status="ready", schema_version=database.check(request.app.state.ws))
