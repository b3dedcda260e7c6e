"""The state database itself: `dsr db upgrade` brings it to this release's schema."""

from __future__ import annotations

from ..state import migrate
from .workspace import Workspace


def upgrade(ws: Workspace) -> migrate.Upgrade:
    """Upgrade whatever release made the database (it is opened without the start-up check)."""
    engine = migrate.engine_for(ws.config.request_store_url)
    try:
        return migrate.upgrade(engine)
    finally:
        engine.dispose()
