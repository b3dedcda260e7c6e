"""Running a batch of requests: start, inspect every store, decide, apply per store, finish; and the
dry run, which is the same inspection with nothing started, recorded or changed.

Each step is a plain function the Dagster job's ops call (one op per step, `inspect` and `apply`
once per store) and returns ids and counts only. The actor who asked for the run (an operator,
a sensor, a controller's API key) is passed to every step and is the actor of every ledger event
the run writes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta

from connectors import Chunk, StoreError

from ..core.errors import DsrError
from ..core.faults import crash_point
from ..plan import links
from ..plan.export import ExportFile, write_manifest
from ..plan.guard import Refusal, refusals_of_counts
from ..plan.lookup import find_subjects
from ..retain.backups import after_changes
from ..retain.holds import held_rows, overlapping, split_by_holds
from ..state.holds import Hold
from ..state.requests import Conclusion, RequestRecord, Subject
from ..state.results import CollectionResult, Recorded, SkippedItem, StoreOutcome, chunk_key, store_of
from . import per_store
from .per_store import StoreSummary
from .requests import drop_packages
from .workspace import Workspace


@dataclass(frozen=True)
class Batch:
    """The requests one run holds, who asked for the run, and the run: what the first step hands to
    the last."""

    request_ids: tuple[int, ...]
    actor: str
    run: str


# Request types a lake's or bucket's `chunks` split into steps (an access package then holds a file
# per chunk and collection). Restriction and its lifting rewrite one side table per dataset, which
# chunks would write at once: whole stores.
CHUNKED = ("access", "erasure")


@dataclass(frozen=True)
class StoreTask:
    """One store's share of a batch, or one chunk's of a store's: the requests it still has to do."""

    store: str
    request_ids: tuple[int, ...]
    actor: str
    run: str
    chunk: Chunk | None = None

    @property
    def key(self) -> str:
        """What the task's outcomes are recorded under: its store, or its chunk of it (`lake.3`)."""
        return _key(self.store, self.chunk)


def _key(store: str, chunk: Chunk | None) -> str:
    return chunk_key(store, None if chunk is None else chunk.index)


def result_keys(ws: Workspace, request_type: str) -> list[str]:
    """Where a request of this type records its outcomes: every mapped store, each chunk of a
    chunked one."""
    out = []
    for store in ws.mapped_stores():
        n = ws.config.store(store).chunks if request_type in CHUNKED else 1
        out += [store] if n == 1 else [chunk_key(store, i) for i in range(n)]
    return out


def _store_tasks(
    ws: Workspace, stores: Sequence[str], claimed: Sequence[int], actor: str, run: str
) -> tuple[StoreTask, ...]:
    """Per store, its task; in a chunked store, access requests and erasures get a task per chunk. A
    resumed request skips the stores and chunks it finished."""
    done = ws.db.results.done_stores(claimed) if claimed else set()
    types = {r.id: r.type for r in ws.db.requests.get_many(claimed)} if claimed else {}
    tasks = []
    for store in stores:
        n = ws.config.store(store).chunks
        split = [r for r in claimed if n > 1 and types[r] in CHUNKED]
        whole = [r for r in claimed if r not in split]
        if n == 1 or whole:  # a chunked store's whole-store step only for what it does not split
            tasks.append(StoreTask(store, tuple(r for r in whole if (r, store) not in done), actor, run))
        for chunk in (Chunk(i, n) for i in range(n)) if split else ():
            todo = tuple(r for r in split if (r, _key(store, chunk)) not in done)
            tasks.append(StoreTask(store, todo, actor, run, chunk))
    return tuple(tasks)


@dataclass(frozen=True)
class Started:
    batch: Batch
    tasks: tuple[StoreTask, ...]  # none when the batch failed before any store was asked
    not_runnable: tuple[int, ...]  # named but not runnable (not verified, or finished)
    held_elsewhere: dict[int, str] = field(default_factory=dict)  # claimed by another run: skipped
    failed: int = 0  # requests failed at the start (a store unreachable, links unresolvable)
    links_added: int = 0


def _until(ws: Workspace):
    return ws.db.clock() + timedelta(seconds=ws.config.settings.lease_seconds)


def start(ws: Workspace, request_ids: Sequence[int], actor: str, run: str) -> Started:
    """Claim the requests for `run` (one run per request: those another live run holds are skipped),
    mark them running, check every store answers, record the links between stores, and say which
    stores each request still needs (a resumed request skips the stores it finished)."""
    db, stores = ws.db, ws.mapped_stores()  # an unreadable datamap refuses the run before it starts
    crash_point("claim")
    claimed, refused = db.requests.claim(request_ids, run, _until(ws))
    held = {r: why for r, why in refused.items() if why.startswith("held by")}
    not_runnable = tuple(sorted(set(refused) - set(held)))
    batch = Batch(tuple(claimed), actor, run)
    db.requests.start(claimed, actor)
    down = ws.unreachable()
    if down:
        note = "; ".join(down[s] for s in sorted(down)) + "; nothing was changed, run again to resume"
        _fail(ws, batch, note)
        return Started(batch, (), not_runnable, held, failed=len(claimed))
    try:
        added = record_links(ws, claimed)
    except StoreError as exc:
        _fail(ws, batch, f"{exc}; nothing was changed, run again")
        return Started(batch, (), not_runnable, held, failed=len(claimed))
    tasks = _store_tasks(ws, stores, claimed, actor, run)
    crash_point("start")
    return Started(batch, tasks, not_runnable, held, links_added=added)


def _conclude(ws: Workspace, notes: Mapping[int, str], actor: str) -> None:
    """Requests this run ends as failed, each with why; the packages of requests they superseded go."""
    conclusions = [Conclusion(r, "failed", note) for r, note in sorted(notes.items())]
    drop_packages(ws, ws.db.requests.finish_many(conclusions, actor), actor)


def _fail(ws: Workspace, batch: Batch, note: str) -> None:
    _conclude(ws, dict.fromkeys(batch.request_ids, note), batch.actor)
    ws.db.requests.release(batch.request_ids, batch.run)


def record_links(ws: Workspace, request_ids: Sequence[int]) -> int:
    """Resolve the requests' links between stores and add them to what the state database holds."""
    if not request_ids or not links.wanted(ws.datamap):
        return 0
    subjects = ws.db.requests.subjects(request_ids)
    return ws.db.links.save(links.resolve(ws.datamap, ws.connectors, subjects))


def _by_type(ws: Workspace, subjects: Sequence[Subject]) -> dict[str, list[Subject]]:
    types = {r.id: r.type for r in ws.db.requests.get_many([s.request_id for s in subjects])}
    out: dict[str, list[Subject]] = {}
    for subject in subjects:
        out.setdefault(types[subject.request_id], []).append(subject)
    return out


def _connector(ws: Workspace, store: str, chunk: Chunk | None):
    return ws.connector(store) if chunk is None else ws.connector(store).within(chunk)


def _inspect(
    ws: Workspace, store: str, subjects: Sequence[Subject], chunk: Chunk | None = None
) -> StoreSummary:
    """Find and plan in one store or chunk, changing nothing; a store that fails fails its requests.
    A chunk sees a share of each collection: the guard judges its requests once the chunks are summed
    (`decide`)."""
    ids = tuple(s.request_id for s in subjects)
    guards = ws.db.guard.guards(ids, ws.config.settings.guard) if chunk is None else {}
    key, parts = _key(store, chunk), []
    try:
        for type_, mine in _by_type(ws, subjects).items():
            store_map, connector = ws.datamap.stores[store], _connector(ws, store, chunk)
            parts.append(per_store.inspect(key, store_map, connector, mine, type_, guards))
    except StoreError as exc:
        return StoreSummary(store, ids, failed={r: str(exc) for r in ids}, chunk=chunk)
    return replace(per_store.merge(store, ids, parts), chunk=chunk)


def inspect(ws: Workspace, task: StoreTask) -> StoreSummary:
    """What the store (or chunk) holds of each request and what would change: the guard decides on this."""
    if not task.request_ids:
        return StoreSummary(task.store, chunk=task.chunk)
    summary = _inspect(ws, task.store, ws.db.requests.subjects(task.request_ids), task.chunk)
    crash_point("inspect")
    return summary


def _chunk_refusals(ws: Workspace, inspections: Sequence[StoreSummary]) -> dict[int, Refusal]:
    """The guard over chunked stores: each request's matches summed over the chunks, against the
    whole collection (counted only where a request matched more than the guard always allows)."""
    matched: dict[str, dict[str, dict[int, int]]] = {}
    for summary in inspections:
        if summary.chunk is None:
            continue
        for request_id, results in summary.results.items():
            for r in results:
                per_request = matched.setdefault(summary.store, {}).setdefault(r.collection, {})
                per_request[request_id] = per_request.get(request_id, 0) + r.found
    out = {}
    for store, counts in sorted(matched.items()):
        ids = sorted({r for per_request in counts.values() for r in per_request})
        guards = ws.db.guard.guards(ids, ws.config.settings.guard)
        out.update(refusals_of_counts(store, counts, ws.connector(store), guards))
    return out


def decide(ws: Workspace, batch: Batch, inspections: Sequence[StoreSummary]) -> list[StoreTask]:
    """Fail every request the guard or a failing store stopped, before any store changes; the
    others go on to every store."""
    failed: dict[int, str] = {}
    refused = {}
    for summary in sorted(inspections, key=lambda s: _key(s.store, s.chunk)):
        for request_id, reason in summary.failed.items():
            failed.setdefault(request_id, reason)
        for request_id, why in summary.refused.items():
            refused.setdefault(request_id, why)
    try:
        chunked = _chunk_refusals(ws, inspections)
    except StoreError as exc:  # the whole collection could not be counted: its chunks' requests stop
        ids = {r for s in inspections if s.chunk is not None for r in s.request_ids}
        chunked, failed = {}, {**dict.fromkeys(ids, str(exc)), **failed}
    for request_id, why in chunked.items():
        refused.setdefault(request_id, why)
        failed.setdefault(request_id, str(why))
    guards = ws.db.guard.guards(list(refused), ws.config.settings.guard)
    for request_id, why in sorted(refused.items()):  # remembered: a looser config will not let it through
        ws.db.guard.refused(
            request_id, why.store, why.collection, why.matched, why.total, guards[request_id], batch.actor
        )
    _conclude(ws, failed, batch.actor)
    ws.db.requests.release(list(failed), batch.run)
    crash_point("decide")
    return [
        StoreTask(
            s.store, tuple(r for r in s.request_ids if r not in failed), batch.actor, batch.run, s.chunk
        )
        for s in sorted(inspections, key=lambda s: _key(s.store, s.chunk))
    ]


def _held_overlap(
    ws: Workspace, store: str, connector, subjects, active: Sequence[Hold]
) -> dict[int, set[int]]:
    """Which erasure subjects share records with a held subject of their tenant (two lookups, the
    held subjects' over the whole store; only when such holds exist)."""
    tenants = {s.tenant for s in subjects}
    held = ws.db.holds.subjects([h for h in active if h.identity_kind and h.tenant in tenants])
    if not held:
        return {}
    store_map = ws.datamap.stores[store]
    theirs = held_rows(ws.datamap, ws.connectors, store, held)
    return overlapping(store_map, find_subjects(store_map, connector, subjects), theirs)


def apply(ws: Workspace, task: StoreTask) -> StoreSummary:
    """Export, erase, restrict or lift in one store (or chunk), and record each request's outcome
    there at once (so a re-run resumes after it)."""
    if not task.request_ids:
        return StoreSummary(task.store, chunk=task.chunk)
    db, store, key = ws.db, task.store, task.key
    held = db.requests.renew(task.request_ids, task.run, _until(ws))
    if len(held) < len(task.request_ids):  # the lease ran out and another run took them: theirs now
        task = replace(task, request_ids=tuple(held))
        if not held:
            return StoreSummary(store, chunk=task.chunk)
    store_map, kind = ws.datamap.stores[store], ws.store_kinds()[store]
    connector = _connector(ws, store, task.chunk)
    earlier = db.results.planned(task.request_ids, key)  # an attempt killed while applying

    def planned_first(results: dict[int, list[CollectionResult]], dead) -> None:
        db.tombstones.record(store, dead)
        db.results.record_plan(key, results, task.actor)

    outcomes, met = [], {}
    try:
        for type_, subjects in _by_type(ws, db.requests.subjects(task.request_ids)).items():
            if type_ == "erasure":
                refs = {r.id: r.subject_refs for r in db.requests.get_many([s.request_id for s in subjects])}
                active = db.holds.active()
                overlap = _held_overlap(ws, store, connector, subjects, active)
                for group in split_by_holds(store, store_map, subjects, refs, active, overlap):
                    erased = per_store.erase(
                        key, group.store_map, connector, group.subjects, db.keys, planned_first
                    )
                    outcomes.append(erased)
                    met.update(group.met)
            elif type_ == "restriction":
                outcomes.append(per_store.restrict(store, kind, store_map, connector, subjects, db))
            elif type_ == "lift-restriction":
                outcomes.append(per_store.lift(store, store_map, connector, subjects, db, task.actor))
            else:
                staging = ws.config.export_dir
                chunk = None if task.chunk is None else task.chunk.index
                outcomes.append(
                    per_store.export(store, kind, store_map, connector, subjects, db.keys, staging, chunk)
                )
    except StoreError as exc:
        failed = [StoreOutcome(r, "failed", error=str(exc)) for r in task.request_ids]
        db.results.record_stores(key, failed, task.actor)
        errors = {r: str(exc) for r in task.request_ids}
        return StoreSummary(store, task.request_ids, failed=errors, chunk=task.chunk)
    summary = replace(
        per_store.merge(store, task.request_ids, [o.summary for o in outcomes]), chunk=task.chunk
    )
    skipped = {r: items for o in outcomes for r, items in o.skipped.items()}
    recorded = []
    for request_id in task.request_ids:
        files = summary.files.get(request_id, ())
        if files:
            sidecar = ws.config.export_dir / str(request_id) / f"{key}.files.json"
            sidecar.write_text(json.dumps([asdict(f) for f in files]))
        mine = skipped.get(request_id, [])
        # A store that skipped something, or kept something for a hold, is done in part: a re-run
        # (once the item is readable, or the hold released) processes it again.
        status, note = ("partial" if mine else "done"), None
        if request_id in met:
            status, note = "held", "deferred by " + ", ".join(h.name for h in met[request_id])
            db.holds.defer(request_id, store, met[request_id])
        results = reconcile(earlier.get(request_id, ()), summary.results.get(request_id, ()))
        recorded.append(StoreOutcome(request_id, status, results, note, tuple(mine)))
    db.results.record_stores(key, recorded, task.actor)
    return summary


# What an erasure did, counted: an attempt killed after its commit recorded its plan; the resumed run
# finds those rows gone, so for each count the larger of the two is what was really done. `residual`
# is the probe's, now; `skipped` the last attempt's.
_DONE = ("found", "deleted", "masked", "retained", "versions")


def reconcile(
    earlier: Sequence[CollectionResult], now: Sequence[CollectionResult]
) -> tuple[CollectionResult, ...]:
    """This attempt's results, with what an interrupted earlier attempt of the same store did."""
    if not earlier:
        return tuple(now)
    by_collection = {r.collection: r for r in now}
    for before in earlier:
        current = by_collection.get(before.collection)
        if current is None:
            by_collection[before.collection] = replace(before, residual=0, skipped=0)
        else:
            larger = {k: max(getattr(before, k), getattr(current, k)) for k in _DONE}
            by_collection[before.collection] = replace(
                current, **larger, reason=current.reason or before.reason
            )
    return tuple(by_collection[c] for c in sorted(by_collection))


def finish(ws: Workspace, batch: Batch) -> dict[str, int]:
    """Decide each request's final state from what every store recorded, seal access packages, and
    tie completed erasures to the backups that still hold them; in bulk, whatever the batch's size.
    Returns how many ended in each state."""
    crash_point("finish")
    db = ws.db
    # The batch's ids, not the stores': a resumed request whose stores are all done has no pending work.
    mine = [
        r
        for r in db.requests.get_many(batch.request_ids)
        if r.state == "running" and r.lease_run == batch.run
    ]
    recorded = db.results.recorded([r.id for r in mine])
    expected = {t: result_keys(ws, t) for t in {r.type for r in mine}}
    conclusions = []
    for record in mine:
        conclusion = _verdict(ws, record, recorded[record.id], expected[record.type])
        if record.type == "access" and conclusion.state != "failed":
            _seal_package(ws, record, recorded[record.id].skipped)
        conclusions.append(conclusion)
    drop_packages(ws, db.requests.finish_many(conclusions, batch.actor), batch.actor)
    types = {r.id: r.type for r in mine}
    erased = [c for c in conclusions if types[c.request_id] == "erasure" and c.state != "failed"]
    if erased:
        _link_backups(ws, batch, erased, recorded)
    db.requests.release(batch.request_ids, batch.run)
    return dict(Counter(c.state for c in conclusions))


def _link_backups(ws: Workspace, batch: Batch, erased: Sequence[Conclusion], recorded) -> None:
    """Completed erasures wait for the backups taken before them to age out: listed once a batch."""
    try:  # an erasure stands even when the rules cannot be read
        backups = ws.rules.backups
    except DsrError as exc:
        for c in erased:
            ws.db.requests.audit(c.request_id, "backups_not_linked", batch.actor, {"error": str(exc)})
        return
    changes = []
    for c in erased:
        results = recorded[c.request_id].results
        changed = sorted({store_of(r.store) for r in results if r.deleted or r.masked or r.versions})
        changes.append((f"request:{c.request_id}", changed, c.request_id))
    after_changes(ws.db, ws.config, ws.connectors, backups, changes, batch.actor)


def _verdict(ws: Workspace, record: RequestRecord, recorded: Recorded, mapped: Sequence[str]) -> Conclusion:
    """A request's final state, the note that says why, and (erasures) the probe's verdict. `mapped`:
    the stores (and chunks) it records outcomes in."""
    status, skipped = recorded.stores, recorded.skipped
    failed = {s: v["error"] for s, v in status.items() if v["status"] not in ("done", "partial", "held")}
    held = sorted({v["error"] for v in status.values() if v["status"] == "held"})
    missing = [s for s in mapped if s not in status]
    residual = sum(r.residual for r in recorded.results)
    probe = {"residual": residual, "stores": sorted(status)} if record.type == "erasure" else None
    if failed or missing:
        note = "; ".join(failed.values()) or f"stores not processed: {missing}"
        return Conclusion(record.id, "failed", note + "; run again to resume", probe)
    if residual or skipped or held:
        notes = [f"verification probe found {residual} rows still holding the subject"] if residual else []
        if skipped:
            items = len({(s.store, s.collection, s.item) for s in skipped})
            notes.append(f"{items} objects or files skipped (listed by dsr status); run again")
        if held:
            notes.append(f"{'; '.join(held)}: runs again when released")
        return Conclusion(record.id, "partially_completed", "; ".join(notes), probe)
    if record.type == "lift-restriction" and not ws.db.restrictions.state(record.id):
        return Conclusion(
            record.id, "completed", "nothing to lift: no active restriction of this subject", probe
        )
    return Conclusion(record.id, "completed", None, probe)


def _seal_package(ws: Workspace, record: RequestRecord, skipped: Sequence[SkippedItem]) -> None:
    folder = ws.config.export_dir / str(record.id)
    files = [ExportFile(**f) for p in sorted(folder.glob("*.files.json")) for f in json.loads(p.read_text())]
    write_manifest(ws.config.export_dir, record, files, ws.datamap, ws.db.clock(), skipped)


def fail_unfinished(ws: Workspace, batch: Batch, why: str) -> list[int]:
    """After a run that ended unexpectedly: the requests it still holds and left `running` become
    `failed`, so the state tells the truth and a re-run resumes them. Returns the batch's requests a
    new run may take: those failed now or before, and those the run never started."""
    records = ws.db.requests.get_many(batch.request_ids)
    left = [r.id for r in records if r.state == "running" and r.lease_run == batch.run]
    _conclude(ws, dict.fromkeys(left, f"{why}; run again to resume"), batch.actor)
    ws.db.requests.release(batch.request_ids, batch.run)
    return [
        r.id
        for r in ws.db.requests.get_many(batch.request_ids)
        if r.state in ("verified", "failed") and r.lease_run is None
    ]


# -- the dry run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    """What a run would find and change per request, and why it would refuse some."""

    results: dict[int, list[CollectionResult]] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)  # the guard, an unreachable store


def dry_run(ws: Workspace, request_ids: Sequence[int], actor: str) -> DryRun:
    """The run's own checks and inspection (stores reachable, links, every store, the guard), with
    nothing started, recorded or changed; audited per request as `dry_run`."""
    ids = list(request_ids)
    out = DryRun({r: [] for r in ids})
    down = ws.unreachable()
    if down:
        note = "; ".join(down[s] for s in sorted(down))
        out.refused.update(dict.fromkeys(ids, note))
    else:
        subjects = ws.db.requests.subjects(ids)
        try:
            found = links.resolve(ws.datamap, ws.connectors, subjects)  # resolved, not recorded
        except StoreError as exc:
            out.refused.update(dict.fromkeys(ids, str(exc)))
        else:
            subjects = [links.with_links(s, found[s.request_id]) for s in subjects]
            for store in ws.mapped_stores():
                summary = _inspect(ws, store, subjects)
                for request_id, results in summary.results.items():
                    out.results[request_id] += list(results)
                for request_id, reason in summary.failed.items():
                    out.refused.setdefault(request_id, reason)
    for request_id in ids:
        counts = out.results[request_id]
        details = {
            "found": sum(c.found for c in counts),
            "would_delete": sum(c.deleted for c in counts),
            "would_mask": sum(c.masked for c in counts),
            **({"refused": True} if request_id in out.refused else {}),
        }
        ws.db.requests.audit(request_id, "dry_run", actor, details)
    return out
