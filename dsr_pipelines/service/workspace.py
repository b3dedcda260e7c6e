"""What every use case works with: the configuration, the state database, the datamap, the retention
rules and connectors to the stores, each opened or read on first use and closed together.

    with Workspace.open("dsr.yaml") as ws:
        requests.submit(ws, "acme", "erasure", ["email=ann@example.com"], actor="cli:ann")

The CLI and the Python API open one per command, a Dagster resource one per run, tests their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from connectors import StoreError

from ..core.config import Config, load_config
from ..core.errors import DatamapError, DsrError
from ..state.db import StateDB

# The datamap, the retention rules, the connectors and the tenancy check load where they are first
# used: the commands that only read the state database do without them.
if TYPE_CHECKING:
    from connectors import Connector

    from ..plan.datamap.model import Datamap
    from ..plan.reach import Connectors
    from ..retain.rules import RetentionRules
    from ..state.schema_cache import SchemaCache


class Workspace:
    def __init__(self, config: Config):
        self.config = config
        self._db: StateDB | None = None
        self._datamap: Datamap | None = None
        self._rules: RetentionRules | None = None
        self._connectors: Connectors | None = None

    @classmethod
    def open(cls, config_path: str | Path | None = None) -> Workspace:
        """From `config_path`, else $DSR_CONFIG, else ./dsr.yaml."""
        return cls(load_config(config_path))

    @property
    def db(self) -> StateDB:
        if self._db is None:
            self._db = StateDB(self.config.request_store_url, self.config.master_key())
        return self._db

    @property
    def datamap(self) -> Datamap:
        if self._datamap is None:
            from ..plan.datamap.model import load_datamap

            self._datamap = load_datamap(self.config.datamap_path)
        return self._datamap

    @property
    def rules(self) -> RetentionRules:
        if self._rules is None:
            from ..retain.rules import load_rules

            self._rules = load_rules(self.config.rules_path)
        return self._rules

    @property
    def connectors(self) -> Connectors:
        """Connectors by store name; object and lake stores learn their layouts from the datamap."""
        if self._connectors is None:
            from ..plan.reach import Connectors

            datamap = self.datamap if self.config.datamap_path.is_file() else None
            self._connectors = Connectors(self.config, datamap, self._schemas)
        return self._connectors

    def _schemas(self) -> SchemaCache | None:
        """Reflected schemas live in the state database: used once this command has opened it."""
        return self._db.schemas if self._db is not None else None

    def connector(self, store: str) -> Connector:
        return self.connectors(store)

    def store_kinds(self) -> dict[str, str]:
        return {s.name: s.kind for s in self.config.settings.stores}

    def mapped_stores(self) -> list[str]:
        """The stores the datamap maps: where requests look. A map that would let one tenant's
        request reach another's rows is refused here, before a request starts."""
        from ..plan.datamap import tenancy

        unscoped = tenancy.unscoped(self.datamap, self.config.settings.tenants)
        if unscoped:
            store, collection, why = unscoped[0]
            more = f" (and {len(unscoped) - 1} more: dsr datamap check)" if len(unscoped) > 1 else ""
            raise DatamapError(f"datamap: stores.{store}.collections.{collection}: {why}{more}")
        for store in self.config.settings.stores:
            if store.chunks == 1 or store.name not in self.datamap.stores:
                continue
            for name, spec in self.datamap.stores[store.name].collections.items():
                if any(ref.local for ref in spec.references):
                    raise DatamapError(
                        f"datamap: stores.{store.name}.collections.{name}: a reference inside a store "
                        f"split into chunks (chunks: {store.chunks}) would miss the rows other chunks hold; "
                        "reference another store's collection, or set chunks: 1"
                    )
        return sorted(self.datamap.stores)

    def unreachable(self) -> dict[str, str]:
        """Mapped stores that do not answer now, with the reason: checked before anything changes."""
        down = {}
        for name in self.mapped_stores():
            try:
                self.connector(name).ping()
            except (StoreError, DsrError) as exc:
                down[name] = str(exc)
            except Exception as exc:  # a malformed URL or a missing driver stops the store like a dead host
                down[name] = f"store {name}: {exc.__class__.__name__}"
        return down

    def close(self) -> None:
        if self._connectors is not None:
            self._connectors.close()
            self._connectors = None
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
