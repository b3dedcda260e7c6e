"""The DSR job as a deployment executes it, each step (each chunk of the lake and the bucket) in a
process of its own: Dagster's multiprocess executor, and dagster-celery with two workers taking
steps from the machine's RabbitMQ (results in its Redis). Either leaves the stores as one pass in
process does (tests/test_chunks.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml

from dsr_pipelines.orchestration.executors import BACKEND_ENV, BROKER_ENV, QUEUE_ENV
from dsr_pipelines.orchestration.jobs import run_config, run_tags

from .conftest import unavailable

BROKER = os.environ.get("DSR_TEST_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
BACKEND = os.environ.get("DSR_TEST_BACKEND", "redis://127.0.0.1:6379/0")
CHUNKS = 3


# A run worker: dsr_job loaded from the definitions as a code server loads them (their executor is
# chosen by the environment as they load), run on the persistent instance the steps' processes and
# the celery workers open from its reference.
RUN_WORKER = """
import json, sys
import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository
repository = ReconstructableRepository.for_module("dsr_pipelines.definitions", "defs")
with dg.DagsterInstance.get() as instance:
    result = dg.execute_job(
        repository.get_reconstructable_job("dsr_job"), instance=instance,
        run_config=json.loads(sys.argv[1]), tags=json.loads(sys.argv[2]),
    )
    print(result.run_id)
"""


def run_on_workers(request_ids: list[int]) -> str:
    """One run of dsr_job for these requests in a run worker of its own; its run id."""
    config = json.dumps(run_config(request_ids, "tester").to_config_dict())
    done = subprocess.run(
        [sys.executable, "-c", RUN_WORKER, config, json.dumps(run_tags("erasure"))],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def step_pids(run_id: str, prefix: str) -> set[int]:
    """The processes the run's steps named `prefix...` succeeded in."""
    with dg.DagsterInstance.get() as instance:
        successes = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
    return {e.dagster_event.pid for e in successes if e.step_key.startswith(prefix)}


@pytest.fixture
def chunked(stores, monkeypatch):
    """The lake and the bucket in chunks; the definitions (and every worker started now) read its dsr.yaml."""
    stores.split(CHUNKS)
    monkeypatch.setenv("DSR_CONFIG", str(stores.project.config_path))
    return stores


def erase_two(stores) -> str:
    """Erase two people through the workers: the stores must be left as one pass in process leaves them."""
    people = stores.project.people[7:9]
    before = stores.events()
    ids = [stores.project.submit(person, "erasure") for person in people]
    run_id = run_on_workers(ids)
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
    assert {stores.status(r)["state"] for r in ids} == {"completed"}
    expected = before
    for person in people:
        expected = stores.without(person, expected)
    assert stores.events() == expected  # what one pass in process leaves
    left = stores.objects()
    assert not any(person.email.encode() in body for person in people for body in left.values())
    return run_id


def test_the_multiprocess_executor_runs_each_chunk_in_a_process_of_its_own(chunked, monkeypatch):
    monkeypatch.delenv(BROKER_ENV, raising=False)
    run_id = erase_two(chunked)
    with dg.DagsterInstance.get() as instance:
        steps = {e.step_key for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)}
    assert {s for s in steps if "_lake]" in s} == {
        f"{step}[{i}_lake]" for step in ("inspect_store", "apply_store") for i in range(CHUNKS)
    }
    assert len(step_pids(run_id, "apply_store")) == 1 + 2 * CHUNKS  # shop, and each chunk of two stores


def _broker_reachable() -> None:
    from kombu import Connection

    try:
        with Connection(BROKER, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
        import redis

        redis.Redis.from_url(BACKEND, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - whatever the client raises, the service is not there
        unavailable("RabbitMQ or Redis", exc)


def start_workers(tmp_path: Path, n: int, env: dict[str, str]) -> tuple[list[subprocess.Popen], str]:
    """`n` celery workers of one process each, on a queue of this test's own."""
    config = tmp_path / "celery.yaml"
    queue = f"dsr-test-{uuid.uuid4().hex[:8]}"
    source = {"task_default_queue": queue, "worker_hijack_root_logger": False}
    settings = {"broker": BROKER, "backend": BACKEND, "config_source": source}
    config.write_text(yaml.safe_dump({"execution": {"config": settings}}))
    bin_dir = Path(sys.executable).parent
    workers = []
    for i in range(n):
        log = (tmp_path / f"worker-{i}.log").open("wb")
        command = [str(bin_dir / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"]
        command += ["-y", str(config), "-q", queue, "-n", f"w{i}-{queue}", "--", "--concurrency=1"]
        env_path = {**env, "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}"}
        workers.append(
            subprocess.Popen(
                command, env=env_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )
    return workers, queue


def test_two_celery_workers_share_the_chunks_and_leave_the_stores_as_one_pass(chunked, monkeypatch, tmp_path):
    _broker_reachable()
    monkeypatch.setenv(BROKER_ENV, BROKER)
    monkeypatch.setenv(BACKEND_ENV, BACKEND)
    workers, queue = start_workers(tmp_path, 2, dict(os.environ))
    monkeypatch.setenv(QUEUE_ENV, queue)
    try:
        run_id = erase_two(chunked)
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    pids = step_pids(run_id, "inspect_store") | step_pids(run_id, "apply_store")
    assert len(pids) == 2, pids  # every step on one of the two workers' processes, both used
    for i in range(2):  # each worker took steps of this run from the broker
        assert "execute_plan" in (tmp_path / f"worker-{i}.log").read_text()
