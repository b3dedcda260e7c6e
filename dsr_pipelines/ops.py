"""Ops of the DSR job. Request ids go in, counts come out; identities and rows stay inside."""

import json
from dataclasses import asdict, dataclass
from datetime import datetime

import dagster as dg
from pydantic import Field

from connectors import StoreError

from . import links, processing, scan
from .backups import AGED_OUT, AWAITING, Inventory, after_change
from .errors import DsrError
from .export import ExportFile, write_manifest
from .holds import Holds, held_findings, overlapping, split_by_holds
from .lookup import find_subjects
from .processing import StoreSummary
from .purge import Purger, age_out, sweep_archives
from .request_store import RUNNABLE
from .resources import RequestStoreResource, StoresResource
from .restriction import Restrictions
from .retention import load_rules
from .sweep import Sweeper
from .tenants import Terminations
from .tombstones import Tombstones

STORE_RETRY = dg.RetryPolicy(
    max_retries=2, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class DsrRunConfig(dg.Config):
    request_ids: list[int] = Field(description="DSR request ids; identities stay in the request store")
    actor: str = Field("dagster", description="who launched the run, recorded in the audit trail")


@dataclass(frozen=True)
class StoreTask:
    store: str
    request_ids: tuple[int, ...]
    actor: str


@dg.op(out=dg.DynamicOut(StoreTask))
def start_requests(
    context: dg.OpExecutionContext,
    config: DsrRunConfig,
    requests: RequestStoreResource,
    stores: StoresResource,
):
    """Mark the requests running, check every store answers, and fan out one task per store."""
    rs = requests.store
    runnable = [r.id for r in rs.get_many(config.request_ids) if r.state in RUNNABLE]
    skipped = sorted(set(config.request_ids) - set(runnable))
    if skipped:
        context.log.warning(f"not runnable (not verified, or already finished): {skipped}")
    rs.start(runnable, config.actor)
    down = stores.unreachable()
    if down:
        note = "; ".join(down[s] for s in sorted(down)) + "; nothing was changed, run again to resume"
        for request_id in runnable:
            rs.finish(request_id, "failed", config.actor, note, None)
        context.log.error(f"stores unreachable: {sorted(down)}; {len(runnable)} requests failed")
        return
    try:
        added = links.refresh(rs, stores.datamap, stores.connector, runnable)
    except StoreError as exc:
        for request_id in runnable:
            rs.finish(request_id, "failed", config.actor, f"{exc}; nothing was changed, run again", None)
        context.log.error(f"links between stores could not be resolved; {len(runnable)} requests failed")
        return
    if added:
        context.log.info(f"{added} keys linking stores recorded (encrypted in the request store)")
    done = rs.done_stores(runnable) if runnable else set()
    for name in stores.names():
        pending = tuple(r for r in runnable if (r, name) not in done)
        yield dg.DynamicOutput(StoreTask(name, pending, config.actor), mapping_key=name)


def _by_type(requests: RequestStoreResource, ids: tuple[int, ...]) -> dict[str, list]:
    out: dict[str, list] = {}
    if not ids:
        return out
    records = {r.id: r for r in requests.store.get_many(ids)}
    for subject in requests.store.subjects(ids):
        out.setdefault(records[subject.request_id].type, []).append(subject)
    return out


@dg.op(retry_policy=STORE_RETRY)
def inspect_store(
    context: dg.OpExecutionContext, task: StoreTask, requests: RequestStoreResource, stores: StoresResource
) -> StoreSummary:
    """Find the subjects and plan, changing nothing: the over-deletion guard looks at this."""
    summaries = []
    try:
        for type_, subjects in _by_type(requests, task.request_ids).items():
            summaries.append(
                processing.inspect(
                    task.store,
                    stores.datamap.stores[task.store],
                    stores.connector(task.store),
                    subjects,
                    type_,
                    requests.config.settings.guard,
                )
            )
    except StoreError as exc:
        return StoreSummary(task.store, task.request_ids, failed={r: str(exc) for r in task.request_ids})
    summary = processing.merge(task.store, task.request_ids, summaries)
    context.log.info(
        f"{task.store}: inspected {len(task.request_ids)} requests, guard stopped {len(summary.failed)}"
    )
    return summary


@dg.op(out=dg.DynamicOut(StoreTask))
def decide_requests(
    context: dg.OpExecutionContext, inspections: list[StoreSummary], requests: RequestStoreResource
):
    """Fail every request the guard or an unreachable store stopped, before any store changes."""
    failed: dict[int, str] = {}
    for summary in sorted(inspections, key=lambda s: s.store):
        for request_id, reason in summary.failed.items():
            failed.setdefault(request_id, reason)
    actor = "dagster"
    for request_id, reason in sorted(failed.items()):
        requests.store.finish(request_id, "failed", actor, reason, None)
    context.log.info(f"{len(failed)} requests stopped before any change")
    for summary in inspections:
        keep = tuple(r for r in summary.request_ids if r not in failed)
        yield dg.DynamicOutput(StoreTask(summary.store, keep, actor), mapping_key=summary.store)


def _held_overlap(stores: StoresResource, store: str, subjects, holds: Holds, active) -> dict[int, set[int]]:
    """Which erasure subjects share records with a held subject of their tenant (two lookups; only
    when such holds exist)."""
    tenants = {s.tenant for s in subjects}
    held = holds.subjects([h for h in active if h.identity_kind and h.tenant in tenants])
    if not held:
        return {}
    store_map = stores.datamap.stores[store]
    theirs = held_findings(stores.datamap, stores.connector, store, held)
    return overlapping(store_map, find_subjects(store_map, stores.connector(store), subjects), theirs)


@dg.op(retry_policy=STORE_RETRY)
def apply_store(
    context: dg.OpExecutionContext, task: StoreTask, requests: RequestStoreResource, stores: StoresResource
) -> StoreSummary:
    """Export or erase in one store and record the outcome per request at once (so a re-run resumes)."""
    rs, cfg = requests.store, requests.config
    store_map, connector = stores.datamap.stores[task.store], stores.connector(task.store)
    holds, restrictions = Holds(rs), Restrictions(rs)
    outcomes, met = [], {}
    kind = stores.config.store(task.store).kind
    try:
        for type_, subjects in _by_type(requests, task.request_ids).items():
            if type_ == "erasure":
                refs = {r.id: r.subject_refs for r in rs.get_many([s.request_id for s in subjects])}
                active = holds.active()
                overlap = _held_overlap(stores, task.store, subjects, holds, active)
                for group in split_by_holds(task.store, store_map, subjects, refs, active, overlap):
                    outcomes.append(
                        processing.erase(task.store, group.store_map, connector, group.subjects, rs.keys)
                    )
                    met.update(group.met)
            elif type_ == "restriction":
                outcomes.append(
                    processing.restrict(task.store, kind, store_map, connector, subjects, restrictions)
                )
            elif type_ == "lift-restriction":
                outcomes.append(processing.lift(task.store, store_map, connector, subjects, restrictions))
            else:
                outcomes.append(
                    processing.export(
                        task.store, kind, store_map, connector, subjects, rs.keys, cfg.export_dir
                    )
                )
    except StoreError as exc:
        for request_id in task.request_ids:
            rs.record_store(request_id, task.store, "failed", [], task.actor, str(exc))
        context.log.error(f"{task.store}: failed for {len(task.request_ids)} requests")
        return StoreSummary(task.store, task.request_ids, failed={r: str(exc) for r in task.request_ids})
    # Keyed hashes of what was erased, before the outcome is recorded: a restore can then be replayed.
    Tombstones(rs).record(task.store, [t for o in outcomes for t in o.tombstones])
    summary = processing.merge(task.store, task.request_ids, [o.summary for o in outcomes])
    skipped = {r: items for o in outcomes for r, items in o.skipped.items()}
    for request_id in task.request_ids:
        files = summary.files.get(request_id, ())
        if files:
            sidecar = cfg.export_dir / str(request_id) / f"{task.store}.files.json"
            sidecar.write_text(json.dumps([asdict(f) for f in files]))
        mine = skipped.get(request_id, [])
        # A store that skipped something, or kept something for a hold, is done in part: a re-run
        # (once the item is readable, or the hold released) processes it again.
        status, note = ("partial" if mine else "done"), None
        if request_id in met:
            status, note = "held", "deferred by " + ", ".join(h.name for h in met[request_id])
            holds.defer(request_id, task.store, met[request_id])
        results = summary.results.get(request_id, ())
        rs.record_store(request_id, task.store, status, results, task.actor, note, skipped=mine)
    totals = processing.totals(summary)
    context.log.info(f"{task.store}: " + " ".join(f"{k}={v}" for k, v in totals.items()))
    return summary


@dg.op
def finish_requests(
    context: dg.OpExecutionContext,
    config: DsrRunConfig,
    summaries: list[StoreSummary],
    requests: RequestStoreResource,
    stores: StoresResource,
) -> dict[str, int]:
    """Decide each request's final state from what every store recorded, and seal access packages."""
    rs, cfg = requests.store, requests.config
    outcome: dict[str, int] = {}
    try:  # read once for the batch; an erasure stands even when the rules cannot be read
        backups, unreadable = load_rules(cfg.rules_path).backups, None
    except DsrError as exc:
        backups, unreadable = [], str(exc)
    # The run's ids, not the summaries': a resumed request whose stores are all done has no pending work.
    for record in rs.get_many(config.request_ids):
        if record.state != "running":
            continue
        status = rs.store_status(record.id)
        failed = {s: v["error"] for s, v in status.items() if v["status"] not in ("done", "partial", "held")}
        held = sorted({v["error"] for v in status.values() if v["status"] == "held"})
        missing = [s for s in stores.names() if s not in status]
        residual = sum(r.residual for r in rs.results(record.id))
        skipped = rs.skipped(record.id)
        probe = {"residual": residual, "stores": sorted(status)} if record.type == "erasure" else None
        if failed or missing:
            note = "; ".join(failed.values()) or f"stores not processed: {missing}"
            state = "failed"
            note += "; run again to resume"
        elif residual or skipped or held:
            state = "partially_completed"
            notes = (
                [f"verification probe found {residual} rows still holding the subject"] if residual else []
            )
            if skipped:
                items = len({(s.store, s.collection, s.item) for s in skipped})
                notes.append(f"{items} objects or files skipped (listed by dsr status); run again")
            if held:
                notes.append(f"{'; '.join(held)}: runs again when released")
            note = "; ".join(notes)
        else:
            state, note = "completed", None
            if record.type == "lift-restriction" and not Restrictions(rs).state(record.id):
                note = "nothing to lift: no active restriction of this subject"
        if record.type == "access" and not (failed or missing):
            folder = cfg.export_dir / str(record.id)
            files = [
                ExportFile(**f)
                for p in sorted(folder.glob("*.files.json"))
                for f in json.loads(p.read_text())
            ]
            write_manifest(cfg.export_dir, record, files, stores.datamap, rs.clock(), skipped)
        rs.finish(record.id, state, "dagster", note, probe)
        if record.type == "erasure" and state in ("completed", "partially_completed"):
            if unreadable:
                context.log.error(f"request {record.id}: backups not linked: {unreadable}")
            else:
                changed = sorted(
                    {r.store for r in rs.results(record.id) if r.deleted or r.masked or r.versions}
                )
                holder = f"request:{record.id}"
                after_change(rs, cfg, stores.connector, backups, holder, changed, "dagster", record.id)
        outcome[state] = outcome.get(state, 0) + 1
    context.log.info(f"finished: {outcome}")
    return outcome


class DiscoveryRunConfig(dg.Config):
    stores: list[str] = Field([], description="store names from dsr.yaml; empty means every store")
    sample_rows: int | None = Field(None, description="rows sampled per table (default: dsr.yaml discovery)")


@dg.op(retry_policy=STORE_RETRY)
def discover_stores(
    context: dg.OpExecutionContext, config: DiscoveryRunConfig, requests: RequestStoreResource
) -> dict[str, dict[str, int]]:
    """Sample every store, compare with the datamap, log what is new for review (`dsr discover findings`)."""
    result = scan.discover(
        requests.config, config.stores, config.sample_rows, actor="dagster:discovery_job", run=context.run_id
    )
    counts: dict[str, dict[str, int]] = {}
    for report in result.reports:
        mine = [c for c in result.proposal.changes if c.path.startswith(f"stores.{report.store}")]
        counts[report.store] = {
            kind: sum(1 for c in mine if c.kind == kind) for kind in sorted({c.kind for c in mine})
        }
        found = len(report.findings())
        context.log.info(
            f"discovery {report.store}: {found} personal columns, changes {counts[report.store]}"
        )
    context.add_output_metadata({store: dg.MetadataValue.json(c) for store, c in counts.items()})
    return counts


class SweepRunConfig(dg.Config):
    as_of: str | None = Field(None, description="sweep as of this ISO date or time (UTC); default: now")
    rule: str | None = Field(None, description="apply only this retention rule")
    dry_run: bool = Field(False, description="count what would go; change nothing")
    run_key: str | None = Field(None, description="a schedule tick: once completed, never swept again")
    actor: str = Field("dagster", description="who launched the run, recorded in the audit trail")


@dg.op
def sweep_retention(
    context: dg.OpExecutionContext,
    config: SweepRunConfig,
    requests: RequestStoreResource,
    stores: StoresResource,
) -> dict[str, int]:
    """Apply the retention rules; counts per rule go to the log, the op's metadata and the ledger."""
    rs = requests.store
    rules = load_rules(stores.config.rules_path)
    as_of = datetime.fromisoformat(config.as_of) if config.as_of else rs.clock()
    sweeper = Sweeper(stores.config, stores.datamap, rules, rs, stores.connector)
    report = sweeper.run(
        as_of, config.actor, rule=config.rule, dry_run=config.dry_run, run_key=config.run_key
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
    if not config.dry_run:  # archived records whose legal obligation ended go with the sweep
        expired = sweep_archives(rs, stores.connector, config.actor, as_of)
        if expired:
            context.log.info(f"{expired} archive files past their obligation deleted")
    context.add_output_metadata({"sweep": report.sweep_id, **changed})
    if report.state != "completed":
        raise dg.Failure(f"sweep {report.sweep_id}: some rules failed; the next sweep finishes them")
    return changed


@dg.op
def scan_backups(
    context: dg.OpExecutionContext, requests: RequestStoreResource, stores: StoresResource
) -> dict[str, int]:
    """List every backup location, confirm gone backups, age out what waited for them.

    Fails when a backup outlived its rotation or a location could not be listed: a promise is
    being broken, or cannot be checked.
    """
    declared = load_rules(stores.config.rules_path).backups
    inventory = Inventory(requests.store)
    actor = "schedule:daily_backup_scan"
    results = inventory.scan(declared, stores.config, stores.connector, actor)
    age_out(stores.config, requests.store, actor)
    for r in results:
        context.log.info(
            f"backups of {r.store}: {r.state}, present={r.present} gone={r.gone} overdue={len(r.overdue)}"
        )
    waiting = inventory.waiting()
    counts = {
        "aged_out": sum(1 for w in waiting if w["state"] == AGED_OUT),
        "awaiting": sum(1 for w in waiting if w["state"] == AWAITING),
    }
    context.add_output_metadata(counts)
    broken = [f"{r.store}: {r.state}" for r in results if r.state != "ok"]
    if broken:
        raise dg.Failure(f"backups not as promised: {'; '.join(broken)} (dsr backups status)")
    return counts


class PurgeRunConfig(dg.Config):
    tenant: str = Field(description="the terminated tenant whose data is purged")
    actor: str = Field("dagster", description="who launched the run, recorded in the audit trail")


@dg.op
def purge_tenant(
    context: dg.OpExecutionContext,
    config: PurgeRunConfig,
    requests: RequestStoreResource,
    stores: StoresResource,
) -> dict[str, int]:
    """Purge a terminated tenant from every store; fails (to be run again) when anything is left."""
    rs = requests.store
    termination = Terminations(rs).require(config.tenant)
    rules = load_rules(stores.config.rules_path)
    report = Purger(stores.config, stores.datamap, rules, rs, stores.connector).run(termination, config.actor)
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
