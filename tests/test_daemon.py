"""The production deployment as it runs: deploy/'s instance on PostgreSQL, a code server, the daemon
and the webserver (tests/deployment.py), the request store on PostgreSQL too.

Requests reach Dagster two ways, both through the queue: `dsr run --detach` submits to the webserver,
and the daemon's sensor launches what is newly verified. Runs that change stores go one at a time
(deploy/dagster.yaml's limit on the tag `dsr/writes`); every request is completed once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from contextlib import contextmanager, suppress

import dagster as dg
import pytest

from dsr_pipelines.core.lifecycle import FINAL

from . import deployment
from .conftest import fresh_database

pytestmark = pytest.mark.parametrize("project", ["postgresql"], indirect=True)


@contextmanager
def deployed(project, tmp_path, max_runtime: int = 600, **env):
    """The project's requests in a PostgreSQL request store, and a deployment running its definitions."""
    scratch = contextmanager(fresh_database)
    with scratch("postgresql", tmp_path) as requests_url, scratch("postgresql", tmp_path) as dagster_url:
        running = deployment.start(tmp_path / "home", dagster_url, project.config_path, env, max_runtime)
        project.write_config(request_store=requests_url, dagster={"webserver": running.webserver})
        try:
            yield running
        finally:
            running.stop()


def wait_for(condition, what: str, within: float = 240.0, every: float = 1.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"{what} within {within} s")


def states(project, ids: list[int]) -> dict[int, str]:
    with project.db() as db:
        return {r.id: r.state for r in db.requests.get_many(ids)}


def finished(instance: dg.DagsterInstance) -> list[dg.RunRecord]:
    """Every run's record once none is waiting or going."""
    records = instance.get_run_records()
    ended = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    return records if records and all(r.dagster_run.status in ended for r in records) else []


def test_the_daemon_launches_through_the_queue_one_run_that_writes_at_a_time(project, tmp_path):
    # Each run waits 2 s in its inspection: two runs let through at once would overlap for sure.
    with deployed(project, tmp_path, DSR_PAUSE_AT="inspect:2") as running:
        erasures = [project.submit(person, "erasure") for person in project.people[:3]]
        access = project.submit(project.people[3], "access")

        queued = [project.cli("run", str(r), "--detach", "--json") for r in erasures[:2]]
        assert all("queued" in q.stderr for q in queued)
        running.dagster("sensor", "start", "dsr_job_on_verified_requests")
        running.dagster("sensor", "start", "dsr_job_on_run_failure")

        ids = [*erasures, access]
        wait_for(lambda: set(states(project, ids).values()) <= set(FINAL), "every request finished")
        with running.instance() as instance:
            records = wait_for(lambda: finished(instance), "every run ended")
            by_sensor = [r for r in records if r.dagster_run.tags.get("dagster/sensor_name")]
            enqueued = {
                r.dagster_run.run_id
                for r in records
                if instance.all_logs(r.dagster_run.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED)
            }

        assert states(project, ids) == dict.fromkeys(ids, "completed")
        with project.db() as db:  # completed once each, whichever run took it
            for request_id in ids:
                done = [t for t in db.requests.transitions(request_id) if t["to_state"] == "completed"]
                assert len(done) == 1, db.requests.transitions(request_id)
        assert "ledger intact" in project.cli("audit", "verify").stdout

        assert by_sensor, "the sensor launched no run"
        assert enqueued == {r.dagster_run.run_id for r in records}, "a run skipped the queue"
        writers = sorted(
            (r.start_time, r.end_time) for r in records if r.dagster_run.tags["dsr/writes"] == "true"
        )
        assert len(writers) >= 2
        for (_, end), (start, _) in zip(writers, writers[1:], strict=False):
            assert start >= end, "two runs that change stores overlapped"


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The process the code server started for the run (its engine event says which)."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        found = re.search(r"Started process for run \(pid: (\d+)\)", entry.message)
        if found:
            return int(found.group(1))
    return None


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every process below it: the machine lost the worker, steps and all."""
    children = deployment.process_children()
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo += children.get(tree[-1], [])
    for each in tree:
        with suppress(ProcessLookupError):
            os.kill(each, signal.SIGKILL)


def test_a_killed_worker_s_run_is_failed_by_run_monitoring_and_its_requests_run_again(project, tmp_path):
    # Runs hold 8 s in their inspection, time to kill the worker; monitoring fails a run after 45 s.
    with deployed(project, tmp_path, max_runtime=45, DSR_PAUSE_AT="inspect:8") as running:
        ids = [project.submit(person, "erasure") for person in project.people[:2]]
        running.dagster("sensor", "start", "dsr_job_on_run_failure")
        queued = json.loads(project.cli("run", *map(str, ids), "--detach", "--json").stdout)["run_id"]
        with running.instance() as instance:
            pid = wait_for(lambda: worker_pid(instance, queued), "the run's worker started")
            wait_for(lambda: set(states(project, ids).values()) == {"running"}, "the requests running")
            kill_tree(pid)

            wait_for(lambda: set(states(project, ids).values()) == {"completed"}, "completed by a new run")
            killed = instance.get_run_by_id(queued)
            retries = [r for r in instance.get_runs() if r.tags.get("dsr/attempt") == "2"]

        assert killed.status == dg.DagsterRunStatus.FAILURE
        assert [r.tags["dagster/sensor_name"] for r in retries] == ["dsr_job_on_run_failure"]
        with project.db() as db:  # running, failed by the sensor naming the run, then completed once
            for request_id in ids:
                steps = db.requests.transitions(request_id)
                assert [t["to_state"] for t in steps][-4:] == ["running", "failed", "running", "completed"]
                failed = steps[-3]
                assert failed["actor"] == "sensor:dsr_job_on_run_failure" and queued in failed["note"]
        assert "ledger intact" in project.cli("audit", "verify").stdout
