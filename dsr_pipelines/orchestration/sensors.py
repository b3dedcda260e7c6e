"""Sensors: launch verified requests (batched by type), requests whose holds were released, and due
purges; and close the loop when a run of the DSR job fails."""

import dagster as dg

from ..service import batch, holds, requests, tenants
from .jobs import dsr_job, requests_of, run_config, run_tags, tenant_purge_job
from .resources import DsrResource

MAX_BATCH = 200
# A run that failed for one of these lost its worker (killed, restarted, never started), not its
# work: its requests are run again, up to MAX_ATTEMPTS runs in all. So is a run failed from outside
# with no reason given: run monitoring does that to a run whose worker is gone, or that outlived
# its maximum runtime. A run whose steps failed is not retried by itself: the requests say failed,
# with the run, for an operator.
TRANSIENT = ("UNEXPECTED_TERMINATION", "START_TIMEOUT", "RUN_WORKER_RESTART")
FAILURE_REASON = "dagster/failure_reason"  # the tag Dagster's run storage gives a failed run
MAX_ATTEMPTS = 3


def batch_runs(
    pending: list[tuple[int, int, str]], actor: str, max_batch: int = MAX_BATCH
) -> list[dg.RunRequest]:
    """Group (seq, request id, type) into runs; the run key names the requests, so none runs twice."""
    runs = []
    by_type: dict[str, list[int]] = {}
    for _, request_id, type_ in pending:
        by_type.setdefault(type_, []).append(request_id)
    for type_, ids in sorted(by_type.items()):
        for start in range(0, len(ids), max_batch):
            batch = ids[start : start + max_batch]
            key = str(batch[0]) if len(batch) == 1 else f"{type_}:{batch[0]}-{batch[-1]}"
            runs.append(
                dg.RunRequest(
                    run_key=key,
                    run_config=run_config(batch, actor),
                    tags=run_tags(type_, key),
                )
            )
    return runs


@dg.sensor(
    job=dsr_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts dsr_job for newly verified requests, batching requests of one type into one run.",
)
def dsr_job_on_verified_requests(context: dg.SensorEvaluationContext, dsr: DsrResource):
    pending = requests.newly_verified(dsr.workspace, int(context.cursor or 0))
    if not pending:
        return dg.SkipReason("no newly verified requests")
    runs = batch_runs(pending, "sensor:dsr_job_on_verified_requests")
    return dg.SensorResult(run_requests=runs, cursor=str(max(seq for seq, _, _ in pending)))


@dg.sensor(
    job=dsr_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs again the erasures legal holds deferred, once every hold they met is released.",
)
def dsr_job_on_released_holds(context: dg.SensorEvaluationContext, dsr: DsrResource):
    ready = holds.ready_to_rerun(dsr.workspace)
    if not ready:
        return dg.SkipReason("no deferred request whose holds are all released")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                # The holds in the key: deferred again by a later hold, the request gets a new run.
                run_key=f"released:{request_id}:" + ",".join(str(h.id) for h in met),
                run_config=run_config([request_id], "sensor:dsr_job_on_released_holds"),
                tags=run_tags("erasure", str(request_id)),
            )
            for request_id, met in ready
        ]
    )


@dg.sensor(
    job=tenant_purge_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts the purge of each terminated tenant once its effective date plus grace has passed.",
)
def tenant_purge_on_due_terminations(context: dg.SensorEvaluationContext, dsr: DsrResource):
    due = tenants.due_purges(dsr.workspace)
    if not due:
        return dg.SkipReason("no termination is due")
    actor = "sensor:tenant_purge_on_due_terminations"
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"purge:{t.tenant}",  # once per tenant; an incomplete purge is run again by hand
                run_config={"ops": {"purge_tenant": {"config": {"tenant": t.tenant, "actor": actor}}}},
                tags=run_tags("purge"),
            )
            for t in due
        ]
    )


@dg.run_failure_sensor(
    monitored_jobs=[dsr_job],
    request_job=dsr_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="When a run of dsr_job fails, marks the requests it left running failed with the run id; "
    "when its worker was lost, runs them again (at most three runs in all).",
)
def dsr_job_on_run_failure(context: dg.RunFailureSensorContext, dsr: DsrResource):
    run = context.dagster_run
    actor = "sensor:dsr_job_on_run_failure"
    reason = run.tags.get(FAILURE_REASON, "NO_REASON_GIVEN")
    again = batch.fail_unfinished(
        dsr.workspace,
        batch.Batch(tuple(requests_of(run.run_config)), actor, run.run_id),
        f"run {run.run_id} failed ({reason.lower().replace('_', ' ')})",
    )
    attempt = int(run.tags.get("dsr/attempt", "1"))
    lost = reason in TRANSIENT or FAILURE_REASON not in run.tags
    if not lost or not again or attempt >= MAX_ATTEMPTS:
        return dg.SkipReason(f"run {run.run_id}: requests marked failed; not run again ({reason})")
    return dg.RunRequest(
        run_key=f"retry:{run.run_id}",
        run_config=run_config(again, actor),
        tags={
            **run_tags(run.tags.get("dsr/kind", "retry"), run.tags.get("dsr/batch")),
            "dsr/writes": run.tags.get("dsr/writes", "true"),  # as the failed run; unknown: it writes
            "dsr/attempt": str(attempt + 1),
        },
    )
