"""Schedules: the daily retention sweep and backup scan, and weekly discovery once an operator turns it on.

Each passes its tick's time as the run's clock (`as_of`), so running a tick again decides the same
way, and its own name as the actor.
"""

from datetime import UTC, datetime

import dagster as dg

from .jobs import backup_scan_job, discovery_job, retention_sweep_job, run_tags


def _tick(context: dg.ScheduleEvaluationContext) -> datetime:
    return context.scheduled_execution_time.astimezone(UTC).replace(tzinfo=None)


@dg.schedule(
    job=discovery_job,
    cron_schedule="0 3 * * 1",  # Mondays 03:00, away from business hours
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Weekly discovery over all stores; new proposals are listed by `dsr discover changes`.",
)
def weekly_discovery(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    config = {"actor": "schedule:weekly_discovery"}
    return dg.RunRequest(
        run_key=f"discovery:{_tick(context):%Y-%m-%d}",
        run_config={"ops": {"discover_stores": {"config": config}}},
        tags=run_tags("discovery"),
    )


@dg.schedule(
    job=retention_sweep_job,
    cron_schedule="30 2 * * *",  # daily at 02:30 UTC, before business hours
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily retention sweep as of the tick; the tick is the run key, so it never runs twice.",
)
def daily_retention_sweep(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    tick = _tick(context)
    key = f"sweep:{tick:%Y-%m-%d}"
    config = {"as_of": tick.isoformat(), "run_key": key, "actor": "schedule:daily_retention_sweep"}
    return dg.RunRequest(
        run_key=key, run_config={"ops": {"sweep_retention": {"config": config}}}, tags=run_tags("sweep")
    )


@dg.schedule(
    job=backup_scan_job,
    cron_schedule="15 3 * * *",  # after the night's backups and the sweep
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily scan of backup locations as of the tick; fails when a backup outlived its rotation.",
)
def daily_backup_scan(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    tick = _tick(context)
    config = {"as_of": tick.isoformat(), "actor": "schedule:daily_backup_scan"}
    return dg.RunRequest(
        run_key=f"backups:{tick:%Y-%m-%d}",
        run_config={"ops": {"scan_backups": {"config": config}}},
        tags=run_tags("backup_scan"),
    )
