"""Launch verified requests: one run per batch of one request type, at most once per batch."""

import dagster as dg

from .jobs import dsr_job, run_config
from .resources import RequestStoreResource

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
