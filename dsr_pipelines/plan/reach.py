"""Open a configured store's connector, telling object and lake stores where their collections are."""

from __future__ import annotations

from connectors import Connector, open_store

from ..core.config import Config
from .datamap.model import Datamap


class Connectors:
    """Connectors opened on first use and closed together."""

    def __init__(self, config: Config, datamap: Datamap | None = None):
        self.config, self.datamap = config, datamap
        self._open: dict[str, Connector] = {}

    def __call__(self, name: str) -> Connector:
        if name not in self._open:
            self._open[name] = open_connector(self.config, name, self.datamap)
        return self._open[name]

    def close(self) -> None:
        for connector in self._open.values():
            connector.close()
        self._open.clear()


def open_connector(config: Config, name: str, datamap: Datamap | None = None) -> Connector:
    store = config.store(name)
    options = store.options()
    if store.kind != "sql":
        store_map = datamap.stores.get(name) if datamap else None
        collections = store_map.collections if store_map else {}
        options["layouts"] = {cname: spec.layout() for cname, spec in collections.items()}
    return open_store(name, store.kind, store.resolved_url(config.base), **options)
