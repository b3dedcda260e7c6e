"""The one `Definitions` of the project: `dagster dev -w workspace.yaml` loads it."""

import dagster as dg

from .jobs import backup_scan_job, discovery_job, dsr_job, retention_sweep_job, tenant_purge_job
from .resources import resources_for
from .schedules import daily_backup_scan, daily_retention_sweep, weekly_discovery
from .sensors import dsr_job_on_released_holds, dsr_job_on_verified_requests, tenant_purge_on_due_terminations

defs = dg.Definitions(
    jobs=[dsr_job, discovery_job, retention_sweep_job, backup_scan_job, tenant_purge_job],
    schedules=[weekly_discovery, daily_retention_sweep, daily_backup_scan],
    sensors=[dsr_job_on_verified_requests, dsr_job_on_released_holds, tenant_purge_on_due_terminations],
    resources=resources_for(),
)
