"""Schedules. Discovery runs weekly once an operator turns it on."""

import dagster as dg

from .jobs import discovery_job

weekly_discovery = dg.ScheduleDefinition(
    name="weekly_discovery",
    job=discovery_job,
    cron_schedule="0 3 * * 1",  # Mondays 03:00, away from business hours
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Weekly discovery over all stores; new findings are listed by `dsr discover findings`.",
)
