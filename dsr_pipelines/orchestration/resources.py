"""The one Dagster resource: the project's workspace (config, state database, datamap, stores).

Configured with `EnvVar("DSR_CONFIG")` in `definitions.py`, read when a run or a sensor tick
starts, never when the module is imported; the CLI gives the path it was started with.
"""

import dagster as dg
from pydantic import Field, PrivateAttr

from ..service.workspace import Workspace


class DsrResource(dg.ConfigurableResource):
    """dsr.yaml, and everything opened from it for one run or one evaluation: closed afterwards."""

    config_path: str = Field(description="path to dsr.yaml")
    _workspace: Workspace | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._workspace = Workspace.open(self.config_path)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._workspace is not None:
            self._workspace.close()

    @property
    def workspace(self) -> Workspace:
        return self._workspace
