"""The one `Definitions` of the project: `DSR_CONFIG=dsr.yaml dagster dev -w workspace.yaml` loads it."""

import dagster as dg

from .orchestration.executors import executor
from .orchestration.heap import freeze_imports
from .orchestration.io_manager import SummaryIOManagerFactory
from .orchestration.jobs import backup_scan_job, discovery_job, dsr_job, retention_sweep_job, tenant_purge_job
from .orchestration.resources import DsrResource
from .orchestration.schedules import daily_backup_scan, daily_retention_sweep, weekly_discovery
from .orchestration.sensors import (
    dsr_job_on_released_holds,
    dsr_job_on_run_failure,
    dsr_job_on_verified_requests,
    tenant_purge_on_due_terminations,
)

defs = dg.Definitions(
    jobs=[dsr_job, discovery_job, retention_sweep_job, backup_scan_job, tenant_purge_job],
    schedules=[weekly_discovery, daily_retention_sweep, daily_backup_scan],
    sensors=[
        dsr_job_on_verified_requests,
        dsr_job_on_released_holds,
        dsr_job_on_run_failure,
        tenant_purge_on_due_terminations,
    ],
    resources={
        # Read when a run or a tick starts, not when this module is imported.
        "dsr": DsrResource(config_path=dg.EnvVar("DSR_CONFIG")),
        "io_manager": SummaryIOManagerFactory(),
    },
    executor=executor(),
)

freeze_imports()  # a code server or run worker imports this module before its first run
