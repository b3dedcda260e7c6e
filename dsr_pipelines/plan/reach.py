"""Open a configured store's connector, telling object and lake stores where their collections are."""

from __future__ import annotations

from collections.abc import Callable

from connectors import ALL_TABLES, Connector, KeepsSchema, StoreError, open_store

from ..core.config import Config
from ..state.schema_cache import SchemaCache
from .datamap.model import Datamap


class Connectors:
    """Connectors opened on first use and closed together. With a schema cache (`schemas()`, None
    while the state database is not open), a SQL store whose catalogue is unchanged since a run
    reflected it uses that run's tables; tables reflected anew are kept for the next run."""

    def __init__(
        self,
        config: Config,
        datamap: Datamap | None = None,
        schemas: Callable[[], SchemaCache | None] = lambda: None,
    ):
        self.config, self.datamap, self.schemas = config, datamap, schemas
        self._open: dict[str, Connector] = {}
        self._catalogues: dict[str, tuple[str, set[str]]] = {}  # store: (fingerprint, what adopted covers)

    def __call__(self, name: str) -> Connector:
        if name not in self._open:
            connector = open_connector(self.config, name, self.datamap)
            if isinstance(connector, KeepsSchema):
                self._adopt(name, connector)
            self._open[name] = connector
        return self._open[name]

    def _adopt(self, name: str, connector: KeepsSchema) -> None:
        cache = self.schemas()
        if cache is None:
            return
        try:
            fingerprint = connector.catalogue()
        except StoreError:  # the store does not answer: the step that needs it says so
            return
        if fingerprint is not None:
            cached = cache.get(name, fingerprint)
            self._catalogues[name] = (fingerprint, connector.adopt_schema(cached) if cached else set())

    def close(self) -> None:
        cache = self.schemas()
        for name, connector in self._open.items():
            if cache is not None and name in self._catalogues:
                fingerprint, adopted = self._catalogues[name]
                covers, pickled = connector.known_schema()
                if covers - adopted:
                    cache.put(name, fingerprint, len(covers - {ALL_TABLES}), pickled)
            connector.close()
        self._open.clear()
        self._catalogues.clear()


def open_connector(config: Config, name: str, datamap: Datamap | None = None) -> Connector:
    store = config.store(name)
    options = store.options()
    if store.kind != "sql":
        store_map = datamap.stores.get(name) if datamap else None
        collections = store_map.collections if store_map else {}
        options["layouts"] = {cname: spec.layout() for cname, spec in collections.items()}
    return open_store(name, store.kind, store.resolved_url(config.base), **options)
