"""Run the DSR job in this process for the CLI and the Python API (a production instance with a
queue comes with `deploy/`).

The Dagster instance is `$DAGSTER_HOME`'s when set, else a persistent one beside the state
database; one instance object serves every run of a process (opening one costs a storage check).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import dagster as dg

from ..core.config import Config
from ..service import batch
from ..service.workspace import Workspace
from .heap import freeze_imports
from .io_manager import SummaryIOManagerFactory
from .jobs import WRITING, dsr_job, run_config, run_tags
from .resources import DsrResource


@dataclass(frozen=True)
class RunOutcome:
    states: dict[int, str]
    run_id: str | None
    elsewhere: dict[int, str] = field(default_factory=dict)  # held by another run: skipped by this one

    @property
    def all_completed(self) -> bool:
        """Every request this run held completed (those another run holds are that run's)."""
        mine = [s for r, s in self.states.items() if r not in self.elsewhere]
        return bool(self.states) and all(s == "completed" for s in mine)


@cache
def _instance(home: str, configured: bool) -> dg.DagsterInstance:
    if configured:  # $DAGSTER_HOME, with its own dagster.yaml
        return dg.DagsterInstance.from_config(home)
    # Telemetry off: the project runs offline and sends nothing anywhere. Every run's events in one
    # SQLite database: the default keeps a database per run and opens it again for each event (a
    # fifth of a one-request run). No compute-log capture: ops report through context.log (counts
    # and names only), and copying a run's stdout and stderr into files costs each run four `tail`
    # processes and could catch what a library prints about a row.
    overrides = {
        "telemetry": {"enabled": False},
        "event_log_storage": {
            "module": "dagster._core.storage.event_log",
            "class": "ConsolidatedSqliteEventLogStorage",
            "config": {"base_dir": str(Path(home) / "history")},
        },
        "compute_logs": {
            "module": "dagster._core.storage.noop_compute_log_manager",
            "class": "NoOpComputeLogManager",
        },
    }
    return dg.DagsterInstance.local_temp(tempdir=home, overrides=overrides)


def dagster_instance(config: Config) -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):
        return _instance(os.environ["DAGSTER_HOME"], True)
    home = config.path(".dsr/dagster")
    home.mkdir(parents=True, exist_ok=True)
    return _instance(str(home.resolve()), False)


def resources(config_path: str | Path) -> dict:
    return {"dsr": DsrResource(config_path=str(config_path)), "io_manager": SummaryIOManagerFactory()}


def run_requests(
    ws: Workspace,
    config_path: str | Path,
    request_ids: list[int],
    actor: str,
    log_level: str = "WARNING",
) -> RunOutcome:
    """Execute the DSR job for these requests; returns each request's final state."""
    if not request_ids:
        return RunOutcome({}, None)
    cfg = run_config(request_ids, actor)
    cfg.loggers = {"console": {"config": {"log_level": log_level}}}
    key = f"{request_ids[0]}-{request_ids[-1]}"
    kinds = {r.type for r in ws.db.requests.get_many(request_ids)}
    tags = run_tags("cli", key, writes=bool(kinds & set(WRITING)))
    freeze_imports()
    result = dsr_job.execute_in_process(
        run_config=cfg,
        instance=dagster_instance(ws.config),
        resources=resources(config_path),
        raise_on_error=False,
        tags=tags,
    )
    if not result.success:  # an unexpected failure leaves requests running; the state must say failed
        batch.fail_unfinished(
            ws, batch.Batch(tuple(request_ids), actor, result.run_id), f"run {result.run_id} failed"
        )
    records = ws.db.requests.get_many(request_ids)
    elsewhere = {
        r.id: f"held by run {r.lease_run}" for r in records if r.lease_run not in (None, result.run_id)
    }
    return RunOutcome({r.id: r.state for r in records}, result.run_id, elsewhere)
