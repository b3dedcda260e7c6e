"""The one `Definitions` of the project: `dagster dev -w workspace.yaml` loads it."""

import dagster as dg

from .jobs import discovery_job, dsr_job
from .resources import resources_for
from .schedules import weekly_discovery
from .sensors import dsr_job_on_verified_requests

defs = dg.Definitions(
    jobs=[dsr_job, discovery_job],
    schedules=[weekly_discovery],
    sensors=[dsr_job_on_verified_requests],
    resources=resources_for(),
)
