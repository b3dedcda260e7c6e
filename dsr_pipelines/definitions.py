"""The one `Definitions` of the project: `dagster dev -w workspace.yaml` loads it."""

import dagster as dg

from .jobs import dsr_job
from .resources import resources_for
from .sensors import dsr_job_on_verified_requests

defs = dg.Definitions(
    jobs=[dsr_job],
    sensors=[dsr_job_on_verified_requests],
    resources=resources_for(),
)
