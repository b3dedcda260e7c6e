"""Run the DSR job for the CLI and the Python API: in this process, or, where dsr.yaml names a
production deployment (`dagster.webserver`, see deploy/), on that deployment's queue.

In process, the Dagster instance is `$DAGSTER_HOME`'s when set, else a persistent one beside the
state database; one instance object serves every run of a process (opening one costs a storage
check). On a deployment, the run is submitted through the webserver's GraphQL API with Dagster's
own client; the daemon launches it when the queue's limits allow, and the caller waits or not.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import dagster as dg

from ..core.config import Config
from ..core.errors import DsrError
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
    detach: bool = False,
) -> RunOutcome:
    """Carry out these requests in one run of the DSR job; returns each request's state once the run
    ended (or, detached from a queued run, as they are now)."""
    if not request_ids:
        return RunOutcome({}, None)
    kinds = {r.type for r in ws.db.requests.get_many(request_ids)}
    tags = run_tags("cli", f"{request_ids[0]}-{request_ids[-1]}", writes=bool(kinds & set(WRITING)))
    webserver = ws.config.settings.dagster.webserver
    if webserver:
        deployment = Deployment(webserver)
        run_id = deployment.submit(run_config(request_ids, actor), tags)
        if detach:
            return _outcome(ws, request_ids, run_id)
        success = deployment.wait(run_id)
    elif detach:
        raise DsrError("--detach needs a deployment to queue the run on: dagster.webserver in dsr.yaml")
    else:
        cfg = run_config(request_ids, actor)
        cfg.loggers = {"console": {"config": {"log_level": log_level}}}
        freeze_imports()
        result = dsr_job.execute_in_process(
            run_config=cfg,
            instance=dagster_instance(ws.config),
            resources=resources(config_path),
            raise_on_error=False,
            tags=tags,
        )
        run_id, success = result.run_id, result.success
    if not success:  # an unexpected failure leaves requests running; the state must say failed
        batch.fail_unfinished(ws, batch.Batch(tuple(request_ids), actor, run_id), f"run {run_id} failed")
    return _outcome(ws, request_ids, run_id)


def _outcome(ws: Workspace, request_ids: list[int], run_id: str) -> RunOutcome:
    records = ws.db.requests.get_many(request_ids)
    elsewhere = {r.id: f"held by run {r.lease_run}" for r in records if r.lease_run not in (None, run_id)}
    return RunOutcome({r.id: r.state for r in records}, run_id, elsewhere)


class Deployment:
    """A production deployment's webserver: runs are submitted to its instance's queue and watched
    there. Its answers carry run ids and states only."""

    FINISHED = ("SUCCESS", "FAILURE", "CANCELED")

    def __init__(self, url: str, poll_seconds: float = 1.0):
        from dagster_graphql import DagsterGraphQLClient  # the deploy extra; only runs on a deployment use it

        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DsrError(f"dagster.webserver: {url!r} is not an http(s) URL")
        self.url, self.poll_seconds = url, poll_seconds
        self.client = DagsterGraphQLClient(
            parts.hostname,
            port_number=parts.port,
            use_https=parts.scheme == "https",
            path_prefix=parts.path.rstrip("/"),
        )

    def _ask(self, what: str, call):
        from dagster_graphql import DagsterGraphQLClientError

        try:
            return call()
        except DagsterGraphQLClientError as exc:  # (kind, message): the message's first line says enough
            kind, *detail = exc.args
            said = str(detail[0]).strip().splitlines()[0] if detail and str(detail[0]).strip() else ""
            raise DsrError(f"the Dagster webserver at {self.url} could not {what}: {kind} {said}") from None

    def submit(self, config: dg.RunConfig, tags: dict[str, str]) -> str:
        submit = self.client.submit_job_execution
        return self._ask("queue the run", lambda: submit(dsr_job.name, run_config=config, tags=tags))

    def wait(self, run_id: str) -> bool:
        """Until the run ended; whether it succeeded."""
        while True:
            status = self._ask(f"say how run {run_id} is going", lambda: self.client.get_run_status(run_id))
            if status.value in self.FINISHED:
                return status.value == "SUCCESS"
            time.sleep(self.poll_seconds)
