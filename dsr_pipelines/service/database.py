"""The state database itself: `dsr db upgrade` brings it to this release's schema."""

from __future__ import annotations

from ..state import keyring, migrate
from ..state.db import utcnow
from ..state.ledger import Ledger
from .workspace import Workspace


def upgrade(ws: Workspace, actor: str) -> migrate.Upgrade:
    """Upgrade whatever release made the database (it is opened without the start-up check): the
    schema; key versions from the master key, once the key proves to open what the database holds;
    the ledger's chain re-keyed, once its old chain proves intact."""
    master = ws.config.master_key()
    engine = migrate.engine_for(ws.config.request_store_url)
    try:
        done = migrate.upgrade(engine)
        keys = keyring.adopt(engine, master, utcnow())
        Ledger(engine, keys.ledger).rekey(utcnow(), actor)
        return done
    finally:
        engine.dispose()


def check(ws: Workspace) -> str:
    """The schema version of the state database, once it answers at this release's (readiness)."""
    with ws.db.engine.connect() as conn:
        return migrate.current(conn) or migrate.HEAD
