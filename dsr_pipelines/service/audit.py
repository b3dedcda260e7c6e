"""The audit ledger: verify its chain, read its events."""

from __future__ import annotations

from ..state.ledger import Verdict
from .workspace import Workspace


def verify(ws: Workspace) -> Verdict:
    return ws.db.ledger.verify()


def events(ws: Workspace, request_id: int | None = None) -> list[dict]:
    return ws.db.ledger.events(request_id)
