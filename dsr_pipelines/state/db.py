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

import sqlalchemy as sa

from connectors.scrub import scrubbed

from ..core.errors import DsrError
from ..core.keys import MasterKey
from . import keyring, migrate
from .apikeys import ApiKeys
from .archives import Archives
from .backups import Backups
from .discovery_log import DiscoveryLog
from .guard import GuardDecisions
from .holds import Holds
from .idempotency import Idempotency
from .leases import Leases
from .ledger import KEYED, Ledger
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


class StateDB:
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
        self.requests = Requests(self)
        self.links = Links(self)
        self.results = Results(self)
        self.holds = Holds(self)
        self.guard = GuardDecisions(self)
        self.leases = Leases(self)
        self.backups = Backups(self)
        self.sweeps = Sweeps(self)
        self.terminations = Terminations(self)
        self.archives = Archives(self)
        self.tombstones = Tombstones(self)
        self.restrictions = Restrictions(self)
        self.discovery = DiscoveryLog(self)
        self.schemas = SchemaCache(self)
        self.idempotency = Idempotency(self)
        self.api_keys = ApiKeys(self)
        self.webhooks = Webhooks(self)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StateDB:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
