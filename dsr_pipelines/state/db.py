"""The state database: one engine, the project's keys, a clock, and one repository per kind of record.

    db = StateDB(config.request_store_url, config.master_key())
    db.requests.submit(...); db.results.record_store(...); db.holds.active(); db.ledger.verify()

Opening it checks the schema version first (`migrate.require_current`), then the master key
(`keyring.load`): a database made for another schema, or with another key, is refused before
anything is read or written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from connectors.scrub import scrubbed

from ..core.errors import DsrError
from ..core.keys import MasterKey
from . import keyring, migrate
from .ledger import KEYED, Ledger

if TYPE_CHECKING:
    from .apikeys import ApiKeys
    from .archives import Archives
    from .backups import Backups
    from .discovery_log import DiscoveryLog
    from .guard import GuardDecisions
    from .holds import Holds
    from .idempotency import Idempotency
    from .leases import Leases
    from .links import Links
    from .requests import Requests
    from .restrictions import Restrictions
    from .results import Results
    from .schema_cache import SchemaCache
    from .sweeps import Sweeps
    from .terminations import Terminations
    from .tombstones import Tombstones
    from .webhooks import Webhooks


class StateUnavailable(DsrError):
    """The state database did not answer, or could not be created."""


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class _Repository:
    """One kind of record's repository, its module imported and the repository made when first
    used, then kept on the database: `dsr status` does not load holds, webhooks or archives."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.attribute = attribute

    def __get__(self, db: StateDB | None, owner: type | None = None) -> Any:
        if db is None:
            return self
        made = getattr(import_module(self.module, __package__), self.name)(db)
        db.__dict__[self.attribute] = made  # later reads find the instance's own attribute
        return made


def repository(module: str, name: str) -> Any:
    # Typed Any so that `holds: Holds = repository(...)` reads as what an instance holds.
    return _Repository(module, name)


class StateDB:
    requests: Requests = repository(".requests", "Requests")
    links: Links = repository(".links", "Links")
    results: Results = repository(".results", "Results")
    holds: Holds = repository(".holds", "Holds")
    guard: GuardDecisions = repository(".guard", "GuardDecisions")
    leases: Leases = repository(".leases", "Leases")
    backups: Backups = repository(".backups", "Backups")
    sweeps: Sweeps = repository(".sweeps", "Sweeps")
    terminations: Terminations = repository(".terminations", "Terminations")
    archives: Archives = repository(".archives", "Archives")
    tombstones: Tombstones = repository(".tombstones", "Tombstones")
    restrictions: Restrictions = repository(".restrictions", "Restrictions")
    discovery: DiscoveryLog = repository(".discovery_log", "DiscoveryLog")
    schemas: SchemaCache = repository(".schema_cache", "SchemaCache")
    idempotency: Idempotency = repository(".idempotency", "Idempotency")
    api_keys: ApiKeys = repository(".apikeys", "ApiKeys")
    webhooks: Webhooks = repository(".webhooks", "Webhooks")

    def __init__(self, url: str, master: MasterKey, clock: Callable[[], datetime] = utcnow):
        self.engine = migrate.engine_for(url)
        self.clock = clock
        try:
            migrate.require_current(self.engine)
            self.keys = keyring.load(self.engine, master, clock())
            self.ledger = Ledger(self.engine, self.keys.ledger)
            if self.ledger.scheme() != KEYED:
                raise migrate.SchemaError(
                    f"the audit ledger's chain is not keyed yet: run `{migrate.UPGRADE}`"
                )
        except sa.exc.DBAPIError as exc:  # not there, refused, or a file that cannot be created
            self.engine.dispose()
            raise StateUnavailable(
                f"the state database (request_store) cannot be opened: {scrubbed(exc)}"
            ) from None
        except Exception:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StateDB:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
