"""The jobs: carry out a batch of requests, discover, sweep, scan backups, purge a tenant.

No job has a retry policy of its own: ops that write the ledger run once (see `ops.py`).
"""

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
    description="Carry out verified data-subject requests (access, erasure, restriction, lifting it) "
    "across every store in the datamap. Run config holds request ids and the actor only."
)
def dsr_job():
    batch, tasks = start_requests()
    inspections = tasks.map(inspect_store).collect()
    applied = decide_requests(batch, inspections).map(apply_store).collect()
    finish_requests(batch, applied)


# Run kinds that change stores: the production queue (deploy/dagster.yaml) lets one such run go at a
# time, by the tag `dsr/writes`; access runs, discovery and backup scans only read them.
WRITING = ("erasure", "restriction", "lift-restriction", "purge", "sweep")


def run_tags(kind: str, batch: str | None = None, writes: bool | None = None) -> dict[str, str]:
    """A run's tags: its kind, its batch of requests, and whether it changes stores (by its kind,
    unless said: a batch of several kinds writes when one of them does)."""
    writes = kind in WRITING if writes is None else writes
    tags = {"dsr/kind": kind, "dsr/writes": "true" if writes else "false"}
    if batch is not None:
        tags["dsr/batch"] = batch
    return tags


def run_config(request_ids: list[int], actor: str) -> dg.RunConfig:
    """The request ids are asked for once, by the first op; the others get them from its output."""
    return dg.RunConfig(ops={"start_requests": {"config": {"request_ids": request_ids, "actor": actor}}})


def requests_of(config: dict) -> list[int]:
    """The request ids a run of `dsr_job` was given (`run_config`'s shape, read back from a run)."""
    return list(config["ops"]["start_requests"]["config"]["request_ids"])


@dg.job(
    description="Discover personal data in every store and log what the datamap lacks, for review. "
    "Never changes the datamap or the stores."
)
def discovery_job():
    discover_stores()


@dg.job(
    description="Apply retention_rules.yaml: delete, anonymise or archive what outlived its rule, "
    "leaving held and restricted data, and delete archives whose obligation ended. Run config holds "
    "dates, rule names and the actor only."
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
    description="Purge a terminated tenant from every store once its purge is due, archiving what a "
    "legal obligation keeps, and write its certificate. Run config holds the tenant's name only."
)
def tenant_purge_job():
    purge_tenant()
