"""Schedules: the daily retention sweep, and weekly discovery once an operator turns it on."""

from datetime import UTC

import dagster as dg

from .jobs import backup_scan_job, discovery_job, retention_sweep_job

weekly_discovery = dg.ScheduleDefinition(
    name="weekly_discovery",
    job=discovery_job,
    cron_schedule="0 3 * * 1",  # Mondays 03:00, away from business hours
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Weekly discovery over all stores; new findings are listed by `dsr discover findings`.",
)


@dg.schedule(
    job=retention_sweep_job,
    cron_schedule="30 2 * * *",  # daily at 02:30 UTC, before business hours
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily retention sweep as of the tick; the tick is the run key, so it never runs twice.",
)
def daily_retention_sweep(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    tick = context.scheduled_execution_time
    key = f"sweep:{tick:%Y-%m-%d}"
    as_of = tick.astimezone(UTC).replace(tzinfo=None).isoformat()
    config = {"as_of": as_of, "run_key": key, "actor": "schedule:daily_retention_sweep"}
    return dg.RunRequest(
        run_key=key, run_config={"ops": {"sweep_retention": {"config": config}}}, tags={"dsr/kind": "sweep"}
    )


daily_backup_scan = dg.ScheduleDefinition(
    name="daily_backup_scan",
    job=backup_scan_job,
    cron_schedule="15 3 * * *",  # after the night's backups and the sweep
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily scan of backup locations; fails when a backup outlived its rotation.",
)
