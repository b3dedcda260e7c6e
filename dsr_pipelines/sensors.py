"""Launch verified requests: one run per batch of one request type, at most once per batch."""

import dagster as dg

from .holds import Holds
from .jobs import dsr_job, run_config, tenant_purge_job
from .resources import RequestStoreResource
from .tenants import Terminations

MAX_BATCH = 200


def batch_runs(pending: list[tuple[int, int, str]], max_batch: int = MAX_BATCH) -> list[dg.RunRequest]:
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
                    run_config=run_config(batch, "sensor:dsr_job_on_verified_requests"),
                    tags={"dsr/kind": type_, "dsr/batch": key},
                )
            )
    return runs


@dg.sensor(
    job=dsr_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts dsr_job for newly verified requests, batching requests of one type into one run.",
)
def dsr_job_on_verified_requests(context: dg.SensorEvaluationContext, requests: RequestStoreResource):
    pending = requests.store.verified_since(int(context.cursor or 0))
    if not pending:
        return dg.SkipReason("no newly verified requests")
    return dg.SensorResult(run_requests=batch_runs(pending), cursor=str(max(seq for seq, _, _ in pending)))


@dg.sensor(
    job=dsr_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs again the erasures legal holds deferred, once every hold they met is released.",
)
def dsr_job_on_released_holds(context: dg.SensorEvaluationContext, requests: RequestStoreResource):
    holds = Holds(requests.store)
    ready = holds.ready()
    if not ready:
        return dg.SkipReason("no deferred request whose holds are all released")
    runs = []
    for request_id in ready:
        # The holds in the key: deferred again by a later hold, the request gets a new run.
        key = f"released:{request_id}:" + ",".join(str(h.id) for h in holds.deferring(request_id))
        runs.append(
            dg.RunRequest(
                run_key=key,
                run_config=run_config([request_id], "sensor:dsr_job_on_released_holds"),
                tags={"dsr/kind": "erasure", "dsr/batch": str(request_id)},
            )
        )
    return dg.SensorResult(run_requests=runs)


@dg.sensor(
    job=tenant_purge_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts the purge of each terminated tenant once its effective date plus grace has passed.",
)
def tenant_purge_on_due_terminations(context: dg.SensorEvaluationContext, requests: RequestStoreResource):
    due = Terminations(requests.store).due()
    if not due:
        return dg.SkipReason("no termination is due")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"purge:{t.tenant}",  # once per tenant; an incomplete purge is run again by hand
                run_config={
                    "ops": {"purge_tenant": {"config": {"tenant": t.tenant, "actor": "sensor:purge"}}}
                },
                tags={"dsr/kind": "purge"},
            )
            for t in due
        ]
    )
