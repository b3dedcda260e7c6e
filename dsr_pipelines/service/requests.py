"""Requests from intake to proof: submit, verify, reject, extend, status, list, export.

Running a batch of requests is `batch.py`'s; everything a controller or an operator does to one
request outside a run is here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from ..core.durations import parse_duration
from ..core.errors import DsrError, IdentityError, RequestStateError, UnknownRequest
from ..core.identities import Identity, parse_pair
from ..core.lifecycle import RUNNABLE, STATES
from ..core.yamlfile import validated
from ..plan.package import discard_package, write_package
from ..state.idempotency import IdempotencyKey, Remembered
from ..state.requests import NewRequest, RequestRecord, Submitted
from ..state.results import COUNTS as COUNTS
from ..state.results import CollectionResult, SkippedItem, store_of
from .workspace import Workspace


def parse_identities(ws: Workspace, pairs: Sequence[str]) -> list[Identity]:
    """`KIND=VALUE` pairs, normalised; each kind must be one the datamap looks up (when there is one)."""
    region = ws.config.settings.default_phone_region
    identities = [parse_pair(p, region, i) for i, p in enumerate(pairs, start=1)]
    if not identities:
        raise IdentityError("give at least one --identity KIND=VALUE")
    if not ws.config.datamap_path.is_file():
        raise IdentityError(
            f"no datamap at {ws.config.datamap_path} to say which identity kinds lookups start from "
            "(create one: dsr datamap init --store NAME)"
        )
    known = ws.datamap.identity_kinds()
    for i, ident in enumerate(identities, start=1):
        if ident.kind not in known:
            raise IdentityError(
                f"identity {i} ({ident.kind}): no datamap field has this identity kind "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )
    return identities


class Submission(BaseModel):
    """One request as a controller gives it: a line of `dsr submit --from FILE`, or the Python API's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str
    type: str
    identities: list[str]  # KIND=VALUE, as --identity takes them
    verified: bool = False
    external_ref: str | None = Field(default=None, max_length=200)  # the controller's own reference


def submit(
    ws: Workspace, tenant: str, type_: str, pairs: Sequence[str], actor: str, verified: bool = False
) -> RequestRecord:
    new = _prepared(ws, Submission(tenant=tenant, type=type_, identities=list(pairs), verified=verified))
    (request_id,) = ws.db.requests.submit_many([new], actor)
    return ws.db.requests.get(request_id)


def _prepared(ws: Workspace, sub: Submission) -> NewRequest:
    tenant = ws.config.check_tenant(sub.tenant)
    identities = tuple(parse_identities(ws, sub.identities))
    new = NewRequest(
        tenant, sub.type, identities, ws.config.response_period(tenant), sub.verified, sub.external_ref
    )
    new.check()
    return new


MAX_LISTED = 20  # problems named in a refused bulk submission; the rest are counted


class SubmissionError(DsrError):
    """A bulk submission refused whole, with every problem at its place."""

    def __init__(self, problems: Sequence[str], total: int):
        self.problems = list(problems)
        listed = "; ".join(self.problems[:MAX_LISTED])
        more = f"; and {len(self.problems) - MAX_LISTED} more" if len(self.problems) > MAX_LISTED else ""
        super().__init__(
            f"nothing submitted: {len(self.problems)} of {total} requests are not valid: {listed}{more}"
        )


Entry = tuple[str, Submission | str]  # where it came from (line 3), and the request or what is wrong


def submit_many(
    ws: Workspace, submissions: Sequence[Submission], actor: str, idempotency_key: str | None = None
) -> list[RequestRecord]:
    """Every submission checked first, then all stored in one transaction, or none: a refusal lists
    each problem by the request's position (1 for the first)."""
    entries = [(f"request {i}", s) for i, s in enumerate(submissions, start=1)]
    return submit_entries(ws, entries, actor, idempotency_key)


def submit_file(ws: Workspace, path: Path, actor: str) -> list[RequestRecord]:
    """The requests of an NDJSON file (one JSON object a line, blank lines skipped), all or none;
    every line that is not a valid request is reported by number."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DsrError(f"{path}: not UTF-8 text") from None
    return submit_entries(ws, ndjson_entries(text, Submission), actor)


def ndjson_entries(text: str, model: type[BaseModel]) -> list[tuple[str, BaseModel | str]]:
    """Each non-blank line read as `model`, or what is wrong with it (the problem, never the text)."""
    entries: list[tuple[str, BaseModel | str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            entries.append((f"line {number}", read_entry(line, model)))
    return entries


def read_entry(line: str, model: type[BaseModel]) -> BaseModel | str:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg}, column {exc.colno})"
    return entry_of(raw, model)


def entry_of(raw: object, model: type[BaseModel]) -> BaseModel | str:
    """`raw` (parsed JSON) as `model`, or what is wrong with it."""
    if not isinstance(raw, dict):
        return f"expected an object, found {type(raw).__name__}"
    try:
        return validated(model, raw, "not a request", DsrError)
    except DsrError as exc:
        return str(exc)


class IdempotencyConflict(DsrError):
    """An Idempotency-Key used again with another body."""


def submit_entries(
    ws: Workspace, entries: Sequence[Entry], actor: str, idempotency_key: str | None = None
) -> list[RequestRecord]:
    """All the entries' requests in one transaction, or none (SubmissionError lists every problem
    by its place). With `idempotency_key` (a controller's retry of one call), the same key and the
    same requests return what the first call made; the same key with other requests is refused."""
    (outcome,) = submit_calls(ws, [Call(list(entries), actor, idempotency_key)])
    if isinstance(outcome, DsrError):
        raise outcome
    return outcome


@dataclass(frozen=True)
class Call:
    """One caller's submission: its entries (all or none of them), who, and its Idempotency-Key."""

    entries: list[Entry]
    actor: str
    idempotency_key: str | None = None


def submit_calls(ws: Workspace, calls: Sequence[Call]) -> list[list[RequestRecord] | DsrError]:
    """Several callers' submissions stored in one transaction (the API groups concurrent calls: one
    commit and one ledger append for all), each still all-or-nothing on its own: per call, its
    requests, or the error that refused it (SubmissionError, IdempotencyConflict)."""
    outcomes: list[list[int] | DsrError | None] = [None] * len(calls)
    pending: dict[int, Submitted] = {}
    keys_seen: set[tuple[str, str]] = set()
    later: dict[int, Submitted] = {}  # a key a second time in this batch: once the first is stored
    for i, call in enumerate(calls):
        try:
            ready = _checked(ws, call.entries)
            idem = None
            if call.idempotency_key is not None:
                idem = _idempotency(ws, [e for _, e in call.entries], call.idempotency_key)
                earlier = _remembered(ws, idem)
                if earlier is not None:
                    outcomes[i] = _replayed(earlier, idem)
                    continue
                if (idem.tenant, idem.key_ref) in keys_seen:
                    later[i] = Submitted(ready, call.actor, idem)
                    continue
                keys_seen.add((idem.tenant, idem.key_ref))
            pending[i] = Submitted(ready, call.actor, idem)
        except DsrError as exc:
            outcomes[i] = exc
    if pending:
        try:
            stored = ws.db.requests.submit_groups(list(pending.values()))
            outcomes_of = dict(zip(pending, stored, strict=True))
        except sa.exc.IntegrityError:  # a key another process stored meanwhile
            outcomes_of = {i: _after_race(ws, group) for i, group in pending.items()}
        for i, outcome in outcomes_of.items():
            outcomes[i] = outcome
    for i, group in later.items():
        outcomes[i] = _after_race(ws, group)
    held = [x for o in outcomes if isinstance(o, list) for x in o]
    records = {r.id: r for r in ws.db.requests.get_many(held)} if held else {}
    return [[records[x] for x in o] if isinstance(o, list) else o for o in outcomes]


def _checked(ws: Workspace, entries: Sequence[Entry]) -> list[NewRequest]:
    ready, problems = [], []
    for place, entry in entries:
        try:
            if isinstance(entry, str):
                raise DsrError(entry)
            ready.append(_prepared(ws, entry))
        except DsrError as exc:
            problems.append(f"{place}: {exc}")
    if problems:
        raise SubmissionError(problems, len(entries))
    if not ready:
        raise DsrError("no requests to submit")
    return ready


def _replayed(earlier: Remembered, idem: IdempotencyKey) -> list[int] | DsrError:
    if earlier.body_ref != idem.body_ref:
        return IdempotencyConflict("this Idempotency-Key was used for other requests: use a new key")
    return earlier.request_ids


def _after_race(ws: Workspace, group: Submitted) -> list[int] | DsrError:
    """A call whose key another call stored first (in another process, or earlier in this batch):
    what that one made, or a conflict; when that one was refused after all, this one on its own."""
    for attempt in (1, 2):
        earlier = _remembered(ws, group.idempotency)
        if earlier is not None:
            return _replayed(earlier, group.idempotency)
        try:
            return ws.db.requests.submit_groups([group])[0]
        except sa.exc.IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable: the second attempt returns or raises")


def _remembered(ws: Workspace, idem: IdempotencyKey | None) -> Remembered | None:
    return ws.db.idempotency.find(idem.tenant, idem.key_ref) if idem is not None else None


def _idempotency(ws: Workspace, submissions: Sequence[Submission], key: str) -> IdempotencyKey:
    tenants = {s.tenant for s in submissions}
    if len(tenants) != 1:
        raise DsrError("an idempotent submission is for one tenant")
    if not key.strip() or len(key) > 255:
        raise DsrError("an Idempotency-Key has 1 to 255 characters")
    body = json.dumps([s.model_dump() for s in submissions], sort_keys=True).encode()
    return IdempotencyKey(
        tenants.pop(),
        key_ref=ws.db.keys.keyed_ref("idempotency-key", key.encode()),
        body_ref=ws.db.keys.keyed_ref("idempotency-body", body),
    )


def verify(ws: Workspace, request_id: int, actor: str) -> None:
    ws.db.requests.verify(request_id, actor)


def cancel(ws: Workspace, request_id: int, actor: str) -> RequestRecord:
    """The controller withdraws a request before it starts (received or verified: the state
    machine refuses any other)."""
    ws.db.requests.cancel(request_id, actor)
    return ws.db.requests.get(request_id)


def of_tenant(ws: Workspace, tenant: str, request_id: int) -> RequestRecord:
    """The request, when it is `tenant`'s; another tenant's is as unknown as one that does not exist."""
    try:
        record = ws.db.requests.get(request_id)
    except UnknownRequest:
        record = None
    if record is None or record.tenant != tenant:
        raise UnknownRequest(f"no request {request_id}")
    return record


def reject(ws: Workspace, request_id: int, reason: str, actor: str) -> None:
    ws.db.requests.reject(request_id, actor, reason)


def extend(ws: Workspace, request_id: int, by: str, reason: str, actor: str) -> datetime:
    return ws.db.requests.extend(request_id, parse_duration(by, "--by"), reason, actor)


def list_requests(
    ws: Workspace,
    state: str | None = None,
    tenant: str | None = None,
    stale: bool = False,
    overdue: bool = False,
    due_before: datetime | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[RequestRecord]:
    """Requests by state and tenant; `stale`: those a run left `running` and no longer holds (it died,
    or its lease ran out), which `dsr run --pending` takes up again; `overdue` and `due_before`:
    those not finished (completed, rejected or cancelled) whose due date has passed, or is before a
    date; `after` and `limit`: one page, the requests after the id `after`."""
    if state is not None and state not in STATES:
        raise RequestStateError(f"unknown state {state!r} (states: {', '.join(STATES)})")
    if tenant is not None:
        ws.config.check_tenant(tenant)
    if stale:
        return [r for r in ws.db.requests.stale() if tenant is None or r.tenant == tenant]
    if overdue:
        now = ws.db.clock()
        due_before = min(due_before, now) if due_before else now
    return ws.db.requests.list(state, tenant, due_before, after, limit)


def runnable(ws: Workspace, request_ids: Sequence[int], pending: bool) -> list[int]:
    """The requests to run: every pending one (verified, or left running by a run that died), or
    the ones named, each one runnable."""
    if bool(request_ids) == pending:
        raise DsrError("give request ids or --pending (not both)")
    if pending:
        waiting = ws.db.requests.list(state="verified") + ws.db.requests.stale()
        return sorted(r.id for r in waiting)
    for record in ws.db.requests.get_many(request_ids):
        if record.state not in RUNNABLE:
            hint = " (verify it first: dsr verify)" if record.state == "received" else ""
            raise RequestStateError(f"request {record.id} is {record.state}; nothing to run{hint}")
    return list(request_ids)


def override_guard(ws: Workspace, request_ids: Sequence[int], reason: str, actor: str) -> None:
    """Lift the over-deletion guard for the named runnable requests, with the reason (audited)."""
    ws.db.guard.override(runnable(ws, request_ids, pending=False), reason, actor)


def newly_verified(ws: Workspace, after: int) -> list[tuple[int, int, str]]:
    """(transition seq, request id, type) of requests verified after the transition `after`, still waiting."""
    return ws.db.requests.verified_since(after)


def progress(ws: Workspace, request_ids: Sequence[int]) -> int:
    """How many (request, store) outcomes are recorded: how far a run has got."""
    return ws.db.results.finished_count(request_ids)


@dataclass(frozen=True)
class RequestStatus:
    """Everything known about one request: for `dsr status` and, next, the controllers' API."""

    record: RequestRecord
    results: list[CollectionResult]
    stores: dict[str, dict]
    skipped: list[SkippedItem]
    history: list[dict]
    notes: list[dict]  # free text about the request (an extension's reason), erasable with it
    restriction: dict
    holds: list[str]  # the holds that deferred it
    backups: dict | None  # erasures: the backups still holding the subject, until they age out


def status(ws: Workspace, request_id: int) -> RequestStatus:
    db = ws.db
    recorded = db.results.recorded([request_id])[request_id]
    return RequestStatus(
        record=db.requests.get(request_id),
        results=recorded.results,
        stores=recorded.stores,
        skipped=recorded.skipped,
        history=db.requests.transitions(request_id),
        notes=db.requests.notes(request_id),
        restriction=db.restrictions.state(request_id),
        holds=[h.name for h in db.holds.deferring(request_id)],
        backups=db.backups.state_of(f"request:{request_id}"),
    )


def drop_packages(ws: Workspace, request_ids: Sequence[int], actor: str) -> None:
    """Remove the staged packages of requests whose subject was erased since (each removal audited)."""
    for request_id in request_ids:
        if discard_package(ws.config.export_dir, request_id):
            ws.db.requests.audit(request_id, "package_removed", actor, {})


class PackageGone(DsrError):
    """An access package past its download period: deleted, and the deletion audited."""


def package_expires(ws: Workspace, record: RequestRecord) -> datetime | None:
    """When a completed access request's package stops being available (`package_days` after it
    completed); None for any other request."""
    if record.type != "access" or record.state not in ("completed", "partially_completed"):
        return None
    done = [h["at"] for h in ws.db.requests.transitions(record.id) if h["to_state"] == record.state]
    return done[-1] + timedelta(days=ws.config.settings.package_days) if done else None


def expire_packages(ws: Workspace, actor: str) -> list[int]:
    """Delete every staged package past its download period, each deletion audited; their requests."""
    staged = [int(p.name) for p in ws.config.export_dir.glob("*") if p.is_dir() and p.name.isdigit()]
    now = ws.db.clock()
    gone = []
    for record in ws.db.requests.get_many(staged) if staged else []:
        expires = package_expires(ws, record)
        if expires is not None and expires <= now and discard_package(ws.config.export_dir, record.id):
            ws.db.requests.audit(
                record.id, "package_expired", actor, {"after_days": ws.config.settings.package_days}
            )
            gone.append(record.id)
    return gone


def export(ws: Workspace, request_id: int, out: Path, actor: str) -> dict:
    """Decrypt a completed access request's package into `out`; returns its manifest."""
    record = ws.db.requests.get(request_id)
    expires = package_expires(ws, record)
    if expires is not None and expires <= ws.db.clock():
        expire_packages(ws, actor)
        raise PackageGone(
            f"request {request_id}: its package was available for {ws.config.settings.package_days} days "
            f"after it completed, until {expires:%Y-%m-%d}, and is deleted"
        )
    erasure = ws.db.requests.erased_by(request_id) if not record.identities_held else None
    if erasure is not None:
        drop_packages(ws, [request_id], actor)  # one left by a run cut short after the erasure
        raise PackageGone(
            f"request {request_id}: nothing to export: its subject was erased by request {erasure}, "
            "which removed this request's identities, links and package"
        )
    if record.type != "access" or record.state not in ("completed", "partially_completed"):
        raise DsrError(
            f"request {request_id} is a {record.state} {record.type} request; "
            "only completed (or partially completed) access requests have a package"
        )
    manifest = write_package(ws.config.export_dir, ws.db.keys, request_id, out)
    ws.db.requests.audit(request_id, "exported", actor, {"files": len(manifest["files"])})
    return manifest


def certificate(ws: Workspace, request_id: int) -> dict:
    """An erasure's certificate: what was erased where (counts), what was kept and why, the probe's
    verdict, the backups still holding the subject and when each is expected to age out, and the
    ledger events that prove it (their sequence numbers and hashes). Ids and counts only."""
    found = status(ws, request_id)
    record = found.record
    if record.type != "erasure" or record.state not in ("completed", "partially_completed"):
        raise NoCertificate(
            f"request {request_id} is a {record.state} {record.type} request; "
            "only a completed (or partially completed) erasure has a certificate"
        )
    done = [h for h in found.history if h["to_state"] == record.state][-1]
    events = ws.db.ledger.events(request_id)
    results = per_store_totals(found.results)
    return {
        "request_id": record.id,
        "tenant": record.tenant,
        "state": record.state,
        "received_at": record.received_at.isoformat(),
        "completed_at": done["at"].isoformat(),
        "erased": [
            {
                "store": r.store,
                "collection": r.collection,
                "deleted": r.deleted,
                "masked": r.masked,
                "older_versions": r.versions,
            }
            for r in results
            if r.deleted or r.masked or r.versions
        ],
        "kept": [
            {"store": r.store, "collection": r.collection, "records": r.retained, "why": r.reason}
            for r in results
            if r.retained
        ],
        "verification": {"rows_still_found": (record.probe or {}).get("residual")},
        "backups": found.backups,
        "ledger": [{"seq": e["seq"], "event": e["event"], "at": e["at"], "hash": e["hash"]} for e in events],
    }


def per_store_totals(results: Sequence[CollectionResult]) -> list[CollectionResult]:
    """Results summed per store and collection: a store split into chunks counts as one."""
    summed: dict[tuple[str, str], CollectionResult] = {}
    for r in results:
        key = (store_of(r.store), r.collection)
        before = summed.get(key)
        if before is None:
            summed[key] = replace(r, store=key[0])
        else:
            summed[key] = replace(
                before,
                **{k: getattr(before, k) + getattr(r, k) for k in COUNTS},
                reason=before.reason or r.reason,
            )
    return [summed[k] for k in sorted(summed)]


class NoCertificate(DsrError):
    """No certificate (yet): not an erasure, not finished, or a tenant not purged."""
