"""The DSR job (start, inspect every store, stop what the guard refuses, apply, finish) and discovery."""

import dagster as dg

from .ops import (
    apply_store,
    decide_requests,
    discover_stores,
    finish_requests,
    inspect_store,
    purge_tenant,
    scan_backups,
    start_requests,
    sweep_retention,
)


@dg.job(
    description="Carry out verified data-subject requests (access, erasure) across every store in the "
    "datamap. Run config holds request ids only.",
    op_retry_policy=dg.RetryPolicy(max_retries=1),
)
def dsr_job():
    inspections = start_requests().map(inspect_store).collect()
    finish_requests(decide_requests(inspections).map(apply_store).collect())


def run_config(request_ids: list[int], actor: str) -> dg.RunConfig:
    ids = {"request_ids": request_ids, "actor": actor}
    return dg.RunConfig(ops={"start_requests": {"config": ids}, "finish_requests": {"config": ids}})


@dg.job(
    description="Discover personal data in every store and log what the datamap lacks, for review. "
    "Never changes the datamap or the stores."
)
def discovery_job():
    discover_stores()


@dg.job(
    description="Apply retention_rules.yaml: delete, anonymise or archive what outlived its rule, "
    "leaving held and restricted data. Run config holds dates and rule names only."
)
def retention_sweep_job():
    sweep_retention()


@dg.job(
    description="Scan the backup locations of retention_rules.yaml: record backups, confirm gone ones by "
    "listing, move erasures and sweeps whose backups are all gone to backups_aged_out; fail on overdue."
)
def backup_scan_job():
    scan_backups()


@dg.job(
    description="Purge a terminated tenant from every store, archiving what a legal obligation keeps, "
    "and write its certificate. Run config holds the tenant's name only."
)
def tenant_purge_job():
    purge_tenant()
