"""Ops: read config, call the service, report counts. Request ids go in, counts come out.

Every op that changes a store or writes the ledger runs once: a retry would write its ledger
events (or discovery log rows) twice. Only `inspect_store`, which reads, retries.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import dagster as dg
from pydantic import Field

from connectors import StoreError
from connectors.scrub import scrubbed

from ..core.errors import DsrError
from ..service import backups, batch, discovery, retention, tenants
from ..service.batch import Batch, StoreTask
from ..service.per_store import StoreSummary, totals
from .resources import DsrResource

READ_RETRY = dg.RetryPolicy(
    max_retries=2, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

ACTOR = "who asked for the run (operator, sensor, schedule, controller): the actor of every ledger event"


def _as_of(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@contextmanager
def step_errors() -> Iterator[None]:
    """How a step's failure reaches Dagster's event log: a refusal of the service (a purge not yet
    due, no backups declared) in its own words, as the CLI prints it; anything else by its class and
    its scrubbed first line, with no chained exception: a value read from a store never lands in the
    run's storage."""
    try:
        yield
    except dg.Failure:
        raise
    except (DsrError, StoreError) as exc:  # our messages; a store's are scrubbed at the connector
        raise dg.Failure(description=str(exc)) from None
    except Exception as exc:
        raise dg.Failure(description=f"{exc.__class__.__name__}: {scrubbed(exc)}") from None


# -- the DSR job ------------------------------------------------------------------------------


def mapping_key(task: StoreTask) -> str:
    """A step per store, or per chunk of one (`3_lake`: digits first, so never a store's name)."""
    return task.store if task.chunk is None else f"{task.chunk.index}_{task.store}"


class DsrRunConfig(dg.Config):
    request_ids: list[int] = Field(description="DSR request ids; identities stay in the state database")
    actor: str = Field(description=ACTOR)


@dg.op(out={"batch": dg.Out(Batch), "tasks": dg.DynamicOut(StoreTask)})
def start_requests(context: dg.OpExecutionContext, config: DsrRunConfig, dsr: DsrResource):
    """Mark the requests running, check every store answers, fan out one task per store."""
    with step_errors():
        started = batch.start(dsr.workspace, config.request_ids, config.actor, context.run_id)
    if started.not_runnable:
        context.log.warning(f"not runnable (not verified, or already finished): {list(started.not_runnable)}")
    for request_id, why in sorted(started.held_elsewhere.items()):
        context.log.warning(f"request {request_id} skipped: {why}")
    if started.failed:
        context.log.error(f"{started.failed} requests failed before any change (dsr status says why)")
    if started.links_added:
        context.log.info(f"{started.links_added} keys linking stores recorded (encrypted)")
    yield dg.Output(started.batch, "batch")
    for task in started.tasks:
        yield dg.DynamicOutput(task, output_name="tasks", mapping_key=mapping_key(task))


@dg.op(retry_policy=READ_RETRY)
def inspect_store(context: dg.OpExecutionContext, task: StoreTask, dsr: DsrResource) -> StoreSummary:
    """Find the subjects and plan, changing nothing: the over-deletion guard looks at this."""
    with step_errors():
        summary = batch.inspect(dsr.workspace, task)
    context.log.info(f"{task.key}: inspected {len(task.request_ids)} requests, stopped {len(summary.failed)}")
    return summary


@dg.op(out=dg.DynamicOut(StoreTask))
def decide_requests(
    context: dg.OpExecutionContext, started: Batch, inspections: list[StoreSummary], dsr: DsrResource
):
    """Fail every request the guard or a failing store stopped, before any store changes."""
    with step_errors():
        tasks = batch.decide(dsr.workspace, started, inspections)
    stopped = len(set(started.request_ids) - {r for t in tasks for r in t.request_ids})
    context.log.info(f"{stopped} requests stopped before any change")
    for task in tasks:
        yield dg.DynamicOutput(task, mapping_key=mapping_key(task))


@dg.op
def apply_store(context: dg.OpExecutionContext, task: StoreTask, dsr: DsrResource) -> StoreSummary:
    """Export, erase, restrict or lift in one store; each request's outcome is recorded at once."""
    with step_errors():
        summary = batch.apply(dsr.workspace, task)
    context.log.info(f"{task.key}: " + " ".join(f"{k}={v}" for k, v in totals(summary).items()))
    return summary


@dg.op
def finish_requests(
    context: dg.OpExecutionContext, started: Batch, summaries: list[StoreSummary], dsr: DsrResource
) -> dict[str, int]:
    """Decide each request's final state from what every store recorded."""
    with step_errors():
        outcome = batch.finish(dsr.workspace, started)
    context.log.info(f"finished: {outcome}")
    return outcome


# -- discovery, retention, backups, purges ---------------------------------------------------------


class DiscoveryRunConfig(dg.Config):
    stores: list[str] = Field([], description="store names from dsr.yaml; empty means every store")
    sample_rows: int | None = Field(None, description="rows sampled per table (default: dsr.yaml discovery)")
    actor: str = Field(description=ACTOR)


@dg.op
def discover_stores(
    context: dg.OpExecutionContext, config: DiscoveryRunConfig, dsr: DsrResource
) -> dict[str, dict[str, int]]:
    """Sample every store, compare with the datamap, log what is new for review (`dsr discover changes`)."""
    with step_errors():
        result = discovery.discover(
            dsr.workspace, config.actor, config.stores, config.sample_rows, run=context.run_id
        )
    counts: dict[str, dict[str, int]] = {}
    for report in result.reports:
        mine = [c for c in result.proposal.changes if c.path.startswith(f"stores.{report.store}")]
        counts[report.store] = dict(sorted(Counter(c.kind for c in mine).items()))
        found = len(report.findings())
        changes = counts[report.store]
        context.log.info(f"discovery {report.store}: {found} personal columns, changes {changes}")
    context.add_output_metadata({store: dg.MetadataValue.json(c) for store, c in counts.items()})
    return counts


class SweepRunConfig(dg.Config):
    as_of: str | None = Field(None, description="sweep as of this ISO date or time (UTC); default: now")
    rule: str | None = Field(None, description="apply only this retention rule")
    dry_run: bool = Field(False, description="count what would go; change nothing")
    run_key: str | None = Field(None, description="a schedule tick: once completed, never swept again")
    actor: str = Field(description=ACTOR)


@dg.op
def sweep_retention(
    context: dg.OpExecutionContext, config: SweepRunConfig, dsr: DsrResource
) -> dict[str, int]:
    """Apply the retention rules; counts per rule go to the log, the op's metadata and the ledger."""
    with step_errors():
        report = retention.sweep(
            dsr.workspace,
            config.actor,
            _as_of(config.as_of),
            config.rule,
            config.dry_run,
            config.run_key,
            run=context.run_id,
        )
    if report.already_ran:
        context.log.info(f"sweep {config.run_key} already completed; nothing to do")
        return {}
    changed: dict[str, int] = {}
    for r in report.results:
        changed[r.rule] = changed.get(r.rule, 0) + r.count.changed
        context.log.info(
            f"{r.rule} {r.target}: expired={r.count.expired} kept={r.count.kept} changed={r.count.changed}"
            + (f" error: {r.error}" if r.error else "")
        )
    if report.archives_expired:
        context.log.info(f"{report.archives_expired} archive files past their obligation deleted")
    context.add_output_metadata({"sweep": report.sweep_id, **changed})
    if report.state != "completed":
        raise dg.Failure(f"sweep {report.sweep_id}: some rules failed; the next sweep finishes them")
    return changed


class BackupScanConfig(dg.Config):
    as_of: str | None = Field(None, description="judge rotation as of this ISO time (UTC); default: now")
    actor: str = Field(description=ACTOR)


@dg.op
def scan_backups(
    context: dg.OpExecutionContext, config: BackupScanConfig, dsr: DsrResource
) -> dict[str, int]:
    """List every backup location, confirm gone backups, age out what waited for them.

    Fails when a backup outlived its rotation or a location could not be listed: a promise is
    being broken, or cannot be checked.
    """
    with step_errors():
        results = backups.scan(dsr.workspace, config.actor, _as_of(config.as_of))
    for r in results:
        context.log.info(
            f"backups of {r.store}: {r.state}, present={r.present} gone={r.gone} overdue={len(r.overdue)}"
        )
    counts = backups.status(dsr.workspace).counts()
    context.add_output_metadata(counts)
    broken = [f"{r.store}: {r.state}" for r in results if r.state != "ok"]
    if broken:
        raise dg.Failure(f"backups not as promised: {'; '.join(broken)} (dsr backups status)")
    return counts


class PurgeRunConfig(dg.Config):
    tenant: str = Field(description="the terminated tenant whose data is purged")
    actor: str = Field(description=ACTOR)


@dg.op
def purge_tenant(context: dg.OpExecutionContext, config: PurgeRunConfig, dsr: DsrResource) -> dict[str, int]:
    """Purge a terminated tenant from every store once due; fails (to be run again) when anything is left."""
    with step_errors():
        report = tenants.purge(dsr.workspace, config.tenant, config.actor, run=context.run_id)
    removed: dict[str, int] = {}
    for t in report.targets:
        removed[t.store] = removed.get(t.store, 0) + t.records
        context.log.info(
            f"{t.store}.{t.collection}: {t.action} {t.records}" + (f" ({t.error})" if t.error else "")
        )
    context.add_output_metadata(removed)
    if not report.complete:
        raise dg.Failure(f"purge of {config.tenant} is not complete; run again (dsr tenant purge)")
    return removed
