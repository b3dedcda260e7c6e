"""Dagster resources: the request store and the stores, both built from one `dsr.yaml`."""

import os

import dagster as dg
from pydantic import Field, PrivateAttr

from connectors import Connector, StoreError

from .config import Config, load_config
from .datamap import Datamap, load_datamap
from .errors import DsrError
from .request_store import RequestStore
from .stores import OpenStores


class RequestStoreResource(dg.ConfigurableResource):
    """Requests, their identities (encrypted) and the audit ledger."""

    config_path: str = Field(description="path to dsr.yaml")
    _config: Config = PrivateAttr()
    _store: RequestStore = PrivateAttr()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._config = load_config(self.config_path)
        self._store = RequestStore(self._config.request_store_url, self._config.keys())

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._store.close()

    @property
    def store(self) -> RequestStore:
        return self._store

    @property
    def config(self) -> Config:
        return self._config


class StoresResource(dg.ConfigurableResource):
    """Connectors for the stores in `dsr.yaml`, and the datamap that says what they hold."""

    config_path: str = Field(description="path to dsr.yaml")
    _config: Config = PrivateAttr()
    _datamap: Datamap = PrivateAttr()
    _stores: OpenStores = PrivateAttr()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._config = load_config(self.config_path)
        self._datamap = load_datamap(self._config.datamap_path)
        self._stores = OpenStores(self._config, self._datamap)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._stores.close()

    @property
    def datamap(self) -> Datamap:
        return self._datamap

    @property
    def config(self) -> Config:
        return self._config

    def names(self) -> list[str]:
        return sorted(self._datamap.stores)

    def connector(self, name: str) -> Connector:
        return self._stores(name)

    def unreachable(self) -> dict[str, str]:
        """Stores that do not answer now, with the reason: checked before anything changes."""
        down = {}
        for name in self.names():
            try:
                self.connector(name).ping()
            except (StoreError, DsrError) as exc:
                down[name] = str(exc)
            except Exception as exc:  # a malformed URL or a missing driver stops the store like a dead host
                down[name] = f"store {name}: {exc.__class__.__name__}"
        return down


def resources_for(config_path: str | None = None) -> dict:
    path = config_path or os.environ.get("DSR_CONFIG", "dsr.yaml")
    return {
        "requests": RequestStoreResource(config_path=path),
        "stores": StoresResource(config_path=path),
        # Outputs are pickled under the instance's storage, as under `dagster dev`; they are ids and counts.
        "io_manager": dg.FilesystemIOManager(),
    }
