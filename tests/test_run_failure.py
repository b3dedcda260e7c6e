"""A run of the DSR job that fails leaves nothing `running`: the run-failure sensor marks its
requests failed with the run id, and runs them again when the run lost its worker (not its work).

The run is a real `dsr run` process killed with SIGKILL mid-run (core/faults.py); the failure is
then reported as Dagster's run monitoring reports a run whose worker is gone.
"""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.events import JobFailureData, RunFailureReason

from dsr_pipelines.orchestration.jobs import dsr_job
from dsr_pipelines.orchestration.launch import resources
from dsr_pipelines.orchestration.resources import DsrResource
from dsr_pipelines.orchestration.sensors import MAX_ATTEMPTS, dsr_job_on_run_failure

from .conftest import killed_run


def killed_while_inspecting(project, ids: list[int], home) -> tuple[dg.DagsterInstance, dg.DagsterRun]:
    """`dsr run` killed while it inspects the stores: its requests are left running."""
    killed_run(project, ids, "inspect", home)
    instance = dg.DagsterInstance.from_config(str(home))
    (run,) = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.STARTED  # nobody told Dagster
    return instance, run


def fail(instance: dg.DagsterInstance, run: dg.DagsterRun, reason: RunFailureReason | None, project):
    """Report the run failed, as run monitoring does (with no reason: as it does for a dead worker or
    a run past its maximum runtime); then one evaluation of the sensor."""
    data = JobFailureData(error=None, failure_reason=reason) if reason else None
    event = instance.report_run_failed(run, "gone", data)
    built = dg.build_run_status_sensor_context(
        sensor_name=dsr_job_on_run_failure.name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run.run_id),
        resources={"dsr": DsrResource(config_path=str(project.config_path))},
    )
    with built.for_run_failure() as context:  # the resource opens its workspace for the tick
        return dsr_job_on_run_failure(context)


def states(project, ids: list[int]) -> dict[int, str]:
    with project.db() as db:
        return {r.id: r.state for r in db.requests.get_many(ids)}


@pytest.mark.parametrize(
    ("reason", "said"),
    [(RunFailureReason.RUN_WORKER_RESTART, "run worker restart"), (None, "no reason given")],
    ids=["a restarted worker", "failed by run monitoring"],
)
def test_a_run_whose_worker_died_is_failed_then_run_again_to_completion(project, tmp_path, reason, said):
    ids = [project.submit(person, "erasure") for person in project.people[:2]]
    instance, run = killed_while_inspecting(project, ids, tmp_path / "dagster")
    assert set(states(project, ids).values()) == {"running"}

    retry = fail(instance, run, reason, project)

    assert isinstance(retry, dg.RunRequest)
    assert retry.run_key == f"retry:{run.run_id}"  # one retry per failed run, whatever the ticks
    assert retry.run_config["ops"]["start_requests"]["config"]["request_ids"] == ids
    assert retry.tags["dsr/attempt"] == "2"
    assert retry.tags["dsr/writes"] == "true"  # an erasure: queued behind any other run that writes
    assert set(states(project, ids).values()) == {"failed"}
    with project.db() as db:
        notes = {r.error for r in db.requests.get_many(ids)}
    assert all(run.run_id in note and said in note for note in notes)

    result = dsr_job.execute_in_process(
        run_config=retry.run_config,
        instance=instance,
        resources=resources(project.config_path),
        tags=retry.tags,
    )
    assert result.success
    assert set(states(project, ids).values()) == {"completed"}


@pytest.mark.parametrize(
    ("reason", "attempt"),
    [(RunFailureReason.STEP_FAILURE, "1"), (RunFailureReason.UNEXPECTED_TERMINATION, str(MAX_ATTEMPTS))],
    ids=["its steps failed", "its last attempt"],
)
def test_a_failed_run_is_not_retried_when_its_work_failed_or_it_was_the_last(
    project, tmp_path, reason, attempt
):
    ids = [project.submit(project.people[0], "erasure")]
    instance, run = killed_while_inspecting(project, ids, tmp_path / "dagster")
    instance.add_run_tags(run.run_id, {"dsr/attempt": attempt})

    skipped = fail(instance, run, reason, project)

    assert isinstance(skipped, dg.SkipReason)
    assert states(project, ids) == {ids[0]: "failed"}  # with the run's id, for an operator to run again
    project.cli("run", str(ids[0]))
    assert states(project, ids) == {ids[0]: "completed"}
