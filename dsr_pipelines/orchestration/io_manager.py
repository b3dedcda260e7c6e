"""An IO manager that pickles summaries only, so personal data cannot reach Dagster's storage.

Dagster pickles every op output under the instance's storage. The DSR ops return ids, counts and
store names; this IO manager refuses anything else (an Arrow table, a subject, a string), failing
the step before a byte is written. A new op that returns rows by mistake fails its first test.
"""

import pickle
from collections.abc import Mapping

import dagster as dg
from pydantic import Field
from upath import UPath

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


class SummaryIOManager(dg.UPathIOManager):
    extension = ".pickle"

    def dump_to_path(self, context: dg.OutputContext, obj: object, path: UPath) -> None:
        if not is_summary(obj):
            raise dg.Failure(
                f"output {context.name!r} of {context.step_key} is a {type(obj).__name__}, not a summary: "
                "ops return ids and counts, never rows or identities"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def load_from_path(self, context: dg.InputContext, path: UPath) -> object:
        return pickle.loads(path.read_bytes())


class SummaryIOManagerFactory(dg.ConfigurableIOManagerFactory):
    """Summaries pickled under `base_dir`, by default the instance's storage directory."""

    base_dir: str | None = Field(None, description="where outputs are kept (default: the instance's storage)")

    def create_io_manager(self, context: dg.InitResourceContext) -> SummaryIOManager:
        base = self.base_dir or context.instance.storage_directory()
        return SummaryIOManager(base_path=UPath(base))
