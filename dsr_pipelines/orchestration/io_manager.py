"""An IO manager that pickles summaries only, so personal data cannot reach Dagster's storage.

Dagster pickles every op output under the instance's storage. The DSR ops return ids, counts and
store names; this IO manager refuses anything else (an Arrow table, a subject, a string), failing
the step before a byte is written. A new op that returns rows by mistake fails its first test.
"""

import pickle
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from pydantic import Field

from ..service.batch import Batch, StoreTask
from ..service.per_store import StoreSummary

# Outputs made of ids, counts and store, rule or collection names by construction.
SUMMARY_TYPES = (Batch, StoreTask, StoreSummary)


def _counts(value: object) -> bool:
    """A count, or counts by name (`{"shop": {"add_field": 2}}`)."""
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, Mapping) and all(isinstance(k, str) and _counts(v) for k, v in value.items())


def is_summary(value: object) -> bool:
    return isinstance(value, SUMMARY_TYPES) or _counts(value)


class SummaryIOManager(dg.IOManager):
    """Pickles under `base/<run id>/<step key>/<output>.pickle`. Dagster's own file IO managers log every
    write and read at debug level, and every log line is an event stored in the run's event log
    (11 of the 57 events of a one-store access request): this one leaves that to the structured
    HANDLED_OUTPUT and LOADED_INPUT events, which the UI shows anyway."""

    def __init__(self, base: Path):
        self.base = base

    def _path(self, context: dg.OutputContext) -> Path:
        *folders, name = context.get_identifier()
        return self.base.joinpath(*folders, f"{name}.pickle")

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if not is_summary(obj):
            raise dg.Failure(
                f"output {context.name!r} of {context.step_key} is a {type(obj).__name__}, not a summary: "
                "ops return ids and counts, never rows or identities"
            )
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def load_input(self, context: dg.InputContext) -> object:
        return pickle.loads(self._path(context.upstream_output).read_bytes())


class SummaryIOManagerFactory(dg.ConfigurableIOManagerFactory):
    """Summaries pickled under `base_dir`, by default the instance's storage directory."""

    base_dir: str | None = Field(None, description="where outputs are kept (default: the instance's storage)")

    def create_io_manager(self, context: dg.InitResourceContext) -> SummaryIOManager:
        base = self.base_dir or context.instance.storage_directory()
        return SummaryIOManager(Path(base))
