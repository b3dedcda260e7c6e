"""Retention: check the rules, sweep (and expire archives whose obligation ended), bucket lifecycle."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from ..retain import bucket_rules, dependents
from ..retain.archive import expire_archives
from ..retain.bucket_rules import BucketRuleState
from ..retain.rules import problems, require_valid, targets
from ..retain.sweep import Sweeper, SweepReport
from .workspace import Workspace


def rule_problems(ws: Workspace) -> list[str]:
    return problems(ws.rules, ws.store_kinds(), ws.datamap)


def rule_dependents(ws: Workspace) -> list[str]:
    """Per rule on a SQL table, what its sweep does to the collections referencing that table."""
    kinds = ws.store_kinds()
    lines = []
    for rule in ws.rules.rules:
        if kinds.get(rule.store) != "sql":
            continue
        for target in targets(rule, ws.datamap):
            if target.prefix is None:
                plans = dependents.plan(ws.rules, ws.datamap, rule.store, target.collection)
                lines += dependents.describe(rule, target.collection, plans)
    return lines


def sweep(
    ws: Workspace,
    actor: str,
    as_of: datetime | None = None,
    rule: str | None = None,
    dry_run: bool = False,
    run_key: str | None = None,
    run: str | None = None,
) -> SweepReport:
    """Apply the retention rules as of `as_of` (default: now); the dry run only counts. Each rule is
    swept by one run at a time (`run`: the Dagster run, else a new id).

    A real sweep also deletes archived records whose legal obligation ended by `as_of`: the daily
    schedule and `dsr sweep` are the same sweep.
    """
    as_of = as_of or ws.db.clock()
    run = run or f"sweep-{uuid.uuid4().hex}"
    until = ws.db.clock() + timedelta(seconds=ws.config.settings.lease_seconds)
    report = Sweeper(ws.config, ws.datamap, ws.rules, ws.db, ws.connectors).run(
        as_of, actor, rule=rule, dry_run=dry_run, run_key=run_key, run=run, lease_until=until
    )
    if not dry_run and not report.already_ran:
        report.archives_expired = expire_archives(ws.db, ws.connectors, actor, as_of)
    return report


def history(ws: Workspace, limit: int = 20, include_dry_runs: bool = False) -> list[dict]:
    return ws.db.sweeps.history(limit, include_dry_runs)


def bucket_lifecycle(ws: Workspace, apply: bool = False) -> list[BucketRuleState]:
    """Compare (or make) the buckets' `dsr-` lifecycle rules with the rules marked `lifecycle: true`."""
    require_valid(ws.rules, ws.store_kinds(), ws.datamap)
    return (bucket_rules.apply if apply else bucket_rules.check)(ws.rules, ws.datamap, ws.connectors)
