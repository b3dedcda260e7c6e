"""Requests: intake, lifecycle and the identities they start from.

Identities are kept encrypted (AES-256-GCM, bound to the request and position) and are removed
once an erasure has completed; from then on the request knows its subject only by HMAC
reference. Every state change is stored with its time and actor, and audited in the same
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..core.durations import Duration
from ..core.errors import RequestStateError, UnknownRequest
from ..core.identities import Identity
from ..core.lifecycle import FINAL, REQUEST_TYPES, RUNNABLE, TRANSITIONS
from . import sealed
from .idempotency import IdempotencyKey
from .ledger import Event
from .schema import identities_t, links_t, notes_t, requests_t, tombstones_t, transitions_t

if TYPE_CHECKING:
    from .db import StateDB

MAX_EXTENSION = Duration(months=2)  # GDPR Art. 12(3): "by two further months"


@dataclass(frozen=True)
class Subject:
    """One request's subject as the lookup needs it: kept inside ops, never returned from them.

    `links` holds key tuples found in other stores, by link (`shop.customers(id)`).
    """

    request_id: int
    tenant: str
    identities: tuple[Identity, ...] = field(repr=False)
    links: Mapping[str, tuple[tuple, ...]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class NewRequest:
    """A request to store: its identities parsed and normalised, its tenant's response period."""

    tenant: str
    type: str
    identities: tuple[Identity, ...] = field(repr=False)
    response_period: Duration
    verified: bool = False
    external_ref: str | None = None  # the controller's own reference (never personal data: it is shown)

    def check(self) -> None:
        if self.type not in REQUEST_TYPES:
            raise RequestStateError(f"unknown request type {self.type!r} (known: {', '.join(REQUEST_TYPES)})")
        if not self.tenant or not self.tenant.strip():
            raise RequestStateError("a request needs a tenant")
        if not self.identities:
            raise RequestStateError("a request needs at least one identity")


@dataclass(frozen=True)
class Submitted:
    """One caller's requests, stored with the others of a batch: who submitted them, and the
    Idempotency-Key to remember for them."""

    requests: list[NewRequest]
    actor: str
    idempotency: IdempotencyKey | None = None


@dataclass(frozen=True)
class Conclusion:
    """How a run ends a request: its final state, why, and (erasures) the probe's verdict."""

    request_id: int
    state: str
    note: str | None = None
    probe: dict | None = None


@dataclass(frozen=True)
class RequestRecord:
    id: int
    tenant: str
    type: str
    state: str
    received_at: datetime
    due_at: datetime
    updated_at: datetime
    subject_refs: tuple[str, ...]
    identities_held: bool
    probe: dict | None
    error: str | None
    lease_run: str | None = None  # the run holding it, until `lease_until`
    lease_until: datetime | None = None
    external_ref: str | None = None


class Requests:
    """The `dsr_requests` table and what hangs off it: identities and transitions."""

    def __init__(self, db: StateDB):
        self.db = db

    # -- intake ---------------------------------------------------------------------------

    def submit(
        self,
        tenant: str,
        type_: str,
        identities: Sequence[Identity],
        actor: str,
        response_period: Duration,
        verified: bool = False,
    ) -> int:
        return self.submit_many(
            [NewRequest(tenant, type_, tuple(identities), response_period, verified)], actor
        )[0]

    def submit_many(
        self, new: Sequence[NewRequest], actor: str, idempotency: IdempotencyKey | None = None
    ) -> list[int]:
        """Store the requests in one transaction, all or none: their rows, encrypted identities and
        transitions in bulk, their ledger events in one append. Returns their ids, in order. With
        `idempotency`, the key is remembered in the same transaction (IntegrityError: used already)."""
        return self.submit_groups([Submitted(list(new), actor, idempotency)])[0]

    def submit_groups(self, groups: Sequence[Submitted]) -> list[list[int]]:
        """Several callers' submissions in one transaction (one commit, one ledger append): each
        group's requests with its actor, its idempotency key remembered. Returns each group's ids."""
        new = [r for g in groups for r in g.requests]
        actors = [g.actor for g in groups for _ in g.requests]
        for request in new:
            request.check()
        now = self.db.clock()
        keys = self.db.keys
        unique = [sorted(set(r.identities)) for r in new]
        refs = [[keys.subject_ref(i) for i in idents] for idents in unique]
        with self.db.engine.begin() as conn:
            ids = [
                int(i)
                for i in conn.execute(
                    sa.insert(requests_t).returning(requests_t.c.id, sort_by_parameter_order=True),
                    [
                        {
                            "tenant": r.tenant,
                            "type": r.type,
                            "state": "received",
                            "received_at": now,
                            "due_at": r.response_period.add_to(now),
                            "first_due_at": r.response_period.add_to(now),
                            "updated_at": now,
                            "external_ref": r.external_ref,
                        }
                        for r in new
                    ],
                ).scalars()
            ]
            conn.execute(
                sa.insert(identities_t),
                [
                    {
                        "request_id": request_id,
                        "position": pos,
                        "kind": ident.kind,
                        "ref": ref,
                        "ciphertext": keys.encrypt(ident.value.encode(), sealed.identity(request_id, pos)),
                    }
                    for request_id, idents, its_refs in zip(ids, unique, refs, strict=True)
                    for pos, (ident, ref) in enumerate(zip(idents, its_refs, strict=True))
                ],
            )
            conn.execute(
                sa.insert(transitions_t),
                [
                    {"request_id": i, "at": now, "actor": actor, "from_state": None, "to_state": "received"}
                    for i, actor in zip(ids, actors, strict=True)
                ],
            )
            self.db.ledger.append_many(
                conn,
                [
                    Event(
                        now,
                        actor,
                        "submitted",
                        r.tenant,
                        request_id,
                        its_refs,
                        {"type": r.type, "identity_kinds": sorted({i.kind for i in idents})},
                    )
                    for request_id, r, idents, its_refs, actor in zip(
                        ids, new, unique, refs, actors, strict=True
                    )
                ],
            )
            by_actor: dict[str, list] = {}
            for i, r, actor in zip(ids, new, actors, strict=True):
                if r.verified:
                    by_actor.setdefault(actor, []).append((i, "verified", None))
            for actor, verified in by_actor.items():
                self._transition_many(conn, verified, actor, now)
            out, at = [], 0
            for g in groups:
                mine = ids[at : at + len(g.requests)]
                at += len(g.requests)
                if g.idempotency is not None:
                    self.db.idempotency.remember(conn, g.idempotency, mine, now)
                out.append(mine)
        return out

    def verify(self, request_id: int, actor: str) -> None:
        self.transition(request_id, "verified", actor)

    def cancel(self, request_id: int, actor: str) -> None:
        """The controller withdraws a request that has not started: it will never run, so its
        identities go at once."""
        record, now = self.get(request_id), self.db.clock()
        with self.db.engine.begin() as conn:
            self._transition(conn, request_id, "cancelled", actor, "cancelled by the controller", now)
            self._forget_many(conn, [record], actor, now, {"why": "cancelled"})

    def reject(self, request_id: int, actor: str, reason: str) -> None:
        """Refuse a request; tombstones an interrupted erasure of it recorded go with it (a restore
        must not erase again what this request, in the end, did not)."""
        with self.db.engine.begin() as conn:
            self._transition(conn, request_id, "rejected", actor, reason, self.db.clock())
            conn.execute(sa.delete(tombstones_t).where(tombstones_t.c.request_id == request_id))

    def extend(self, request_id: int, period: Duration, reason: str, actor: str) -> datetime:
        """Push the due date back by `period`, with a reason; GDPR Art. 12(3) allows two further
        months at most, in total over every extension."""
        record = self.get(request_id)
        if record.state in FINAL:
            raise RequestStateError(f"request {request_id} is {record.state}; its due date no longer matters")
        if not reason.strip():
            raise RequestStateError("an extension needs a reason")
        due = period.add_to(record.due_at)
        if due <= record.due_at:
            raise RequestStateError(f"an extension must add time ({period} adds none)")
        now = self.db.clock()
        with self.db.engine.begin() as conn:
            first = conn.execute(
                sa.select(requests_t.c.first_due_at).where(requests_t.c.id == request_id)
            ).scalar()
            latest = MAX_EXTENSION.add_to(first or record.due_at)
            if due > latest:
                raise RequestStateError(
                    f"request {request_id} may be extended to {latest:%Y-%m-%d} at most (two months after "
                    f"its first due date, GDPR Art. 12(3)); {period} would make it {due:%Y-%m-%d}"
                )
            conn.execute(
                sa.update(requests_t).where(requests_t.c.id == request_id).values(due_at=due, updated_at=now)
            )
            conn.execute(
                sa.insert(notes_t).values(
                    request_id=request_id, at=now, actor=actor, kind="extension", text=reason
                )
            )
            self.audit_in(
                conn, record, "due_date_extended", actor, now, {"due_at": due.isoformat(), "reason": reason}
            )
        return due

    def notes(self, request_id: int) -> list[dict]:
        """Free text about the request (an extension's reason), oldest first."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(notes_t).where(notes_t.c.request_id == request_id).order_by(notes_t.c.seq)
            )
            return [{"at": r.at, "actor": r.actor, "kind": r.kind, "text": r.text} for r in rows]

    # -- lifecycle ------------------------------------------------------------------------

    def transition(self, request_id: int, to_state: str, actor: str, note: str | None = None) -> None:
        with self.db.engine.begin() as conn:
            self._transition(conn, request_id, to_state, actor, note, self.db.clock())

    def _transition(self, conn, request_id: int, to_state: str, actor: str, note: str | None, now) -> None:
        self._transition_many(conn, [(request_id, to_state, note)], actor, now)

    def _transition_many(
        self, conn, changes: Sequence[tuple[int, str, str | None]], actor: str, now: datetime
    ) -> None:
        """Move each request (id, state, note) to its state in the caller's transaction: a batch's
        step costs a few statements and one ledger append, not a transaction per request."""
        ids = [request_id for request_id, _, _ in changes]
        rows = {
            r.id: r
            for r in conn.execute(sa.select(requests_t).where(requests_t.c.id.in_(ids)).with_for_update())
        }
        for request_id, to_state, _ in changes:
            if request_id not in rows:
                raise UnknownRequest(f"no request {request_id}")
            if to_state not in TRANSITIONS[rows[request_id].state]:
                raise RequestStateError(
                    f"request {request_id} is {rows[request_id].state}; it cannot become {to_state}"
                )
        refs: dict[int, list[str]] = {request_id: [] for request_id in ids}
        for request_id, ref in conn.execute(
            sa.select(identities_t.c.request_id, identities_t.c.ref).where(identities_t.c.request_id.in_(ids))
        ):
            refs[request_id].append(ref)
        updates, transitions, events = [], [], []
        for request_id, to_state, note in changes:
            before = rows[request_id]
            if to_state in ("failed", "partially_completed", "rejected"):
                error = note
            elif to_state in ("running", "completed"):
                error = None
            else:
                error = before.error
            updates.append({"b_id": request_id, "state": to_state, "error": error})
            transitions.append(
                {
                    "request_id": request_id,
                    "at": now,
                    "actor": actor,
                    "from_state": before.state,
                    "to_state": to_state,
                    "note": note,
                }
            )
            details = {"from": before.state, **({"note": note} if note else {})}
            events.append(Event(now, actor, to_state, before.tenant, request_id, refs[request_id], details))
        conn.execute(
            sa.update(requests_t)
            .where(requests_t.c.id == sa.bindparam("b_id"))
            .values(state=sa.bindparam("state"), error=sa.bindparam("error"), updated_at=now),
            updates,
        )
        conn.execute(sa.insert(transitions_t), transitions)
        self.db.ledger.append_many(conn, events)
        changed = [t for t in transitions if t["from_state"] != t["to_state"]]
        self.db.webhooks.queue(
            conn,
            [
                (
                    rows[t["request_id"]].tenant,
                    "request.state_changed",
                    t["request_id"],
                    {"from": t["from_state"], "to": t["to_state"], "type": rows[t["request_id"]].type},
                    None,
                )
                for t in changed
            ],
            now,
        )

    # -- leases: one run per request ---------------------------------------------------------

    def claim(
        self, request_ids: Sequence[int], run: str, until: datetime
    ) -> tuple[list[int], dict[int, str]]:
        """Take the lease of each runnable request no live run holds, in one conditional update
        (atomic per row on every database): a second run finds them taken. Returns the requests
        `run` now holds, and for the others why not (held by another run, or not runnable)."""
        ids = [int(i) for i in request_ids]
        now = self.db.clock()
        free = sa.or_(
            requests_t.c.lease_run.is_(None), requests_t.c.lease_until < now, requests_t.c.lease_run == run
        )
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.update(requests_t)
                .where(requests_t.c.id.in_(ids), requests_t.c.state.in_(RUNNABLE), free)
                .values(lease_run=run, lease_until=until)
            )
        claimed, refused = [], {}
        for record in self.get_many(ids):
            if record.lease_run == run and record.state in RUNNABLE:
                claimed.append(record.id)
            elif record.state not in RUNNABLE:
                refused[record.id] = f"{record.state}: not runnable"
            else:
                refused[record.id] = (
                    f"held by run {record.lease_run} until {record.lease_until:%Y-%m-%d %H:%M:%S}"
                )
        return claimed, refused

    def renew(self, request_ids: Sequence[int], run: str, until: datetime) -> list[int]:
        """Extend the lease `run` holds on these requests; returns those whose lease it still holds."""
        ids = [int(i) for i in request_ids]
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.update(requests_t)
                .where(requests_t.c.id.in_(ids), requests_t.c.lease_run == run)
                .values(lease_until=until)
            )
        return [r.id for r in self.get_many(ids) if r.lease_run == run]

    def release(self, request_ids: Sequence[int], run: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.update(requests_t)
                .where(requests_t.c.id.in_([int(i) for i in request_ids]), requests_t.c.lease_run == run)
                .values(lease_run=None, lease_until=None)
            )

    def stale(self) -> list[RequestRecord]:
        """Requests left `running` by a run that no longer holds them (it died, or its lease expired)."""
        now = self.db.clock()
        query = sa.select(requests_t.c.id).where(
            requests_t.c.state == "running",
            sa.or_(requests_t.c.lease_until.is_(None), requests_t.c.lease_until < now),
        )
        with self.db.engine.connect() as conn:
            ids = list(conn.execute(query.order_by(requests_t.c.id)).scalars())
        return self.get_many(ids) if ids else []

    def start(self, request_ids: Sequence[int], actor: str) -> None:
        """All of them `running`, in one transaction (a resumed request's transition says so)."""
        ids = [int(i) for i in request_ids]
        if not ids:
            return
        with self.db.engine.begin() as conn:
            states = dict(
                conn.execute(
                    sa.select(requests_t.c.id, requests_t.c.state).where(requests_t.c.id.in_(ids))
                ).all()
            )
            for request_id in ids:
                if request_id not in states:
                    raise UnknownRequest(f"no request {request_id}")
                if states[request_id] not in RUNNABLE:
                    raise RequestStateError(
                        f"request {request_id} is {states[request_id]}; only verified requests run"
                    )
            changes = [(i, "running", "resumed" if states[i] != "verified" else None) for i in ids]
            self._transition_many(conn, changes, actor, self.db.clock())

    def finish(
        self, request_id: int, state: str, actor: str, note: str | None, probe: dict | None
    ) -> list[int]:
        return self.finish_many([Conclusion(request_id, state, note, probe)], actor)

    def finish_many(self, conclusions: Sequence[Conclusion], actor: str) -> list[int]:
        """Final transitions, in one transaction. A completed erasure forgets the identities it was
        given and supersedes the earlier requests of its subject; a request finishing after such an
        erasure is superseded at once. Returns the requests superseded now (their staged packages
        are to be removed)."""
        if not conclusions:
            return []
        records = {r.id: r for r in self.get_many([c.request_id for c in conclusions])}
        now = self.db.clock()
        superseded = set()
        with self.db.engine.begin() as conn:
            probes = [
                {"b_id": c.request_id, "probe": json.dumps(c.probe, sort_keys=True)}
                for c in conclusions
                if c.probe is not None
            ]
            if probes:
                conn.execute(
                    sa.update(requests_t)
                    .where(requests_t.c.id == sa.bindparam("b_id"))
                    .values(probe=sa.bindparam("probe")),
                    probes,
                )
            self._transition_many(conn, [(c.request_id, c.state, c.note) for c in conclusions], actor, now)
            erased = {c.request_id for c in conclusions if c.state == "completed"} & {
                r.id for r in records.values() if r.type == "erasure"
            }
            self._forget_many(conn, [records[r] for r in sorted(erased)], actor, now)
            sharing = self._sharing(conn, list(records.values()))
            for record in records.values():
                if record.id in erased:
                    for earlier in sorted({r.id for r in sharing[record.id] if r.id < record.id}):
                        if self._supersede(conn, earlier, record.id, actor, now, mine=False):
                            superseded.add(earlier)
                    continue
                erasure = self._first_later_erasure(record, sharing[record.id])
                if erasure is not None and self._supersede(conn, record.id, erasure, actor, now, mine=True):
                    superseded.add(record.id)
        return sorted(superseded)

    def _sharing(self, conn, records: Sequence[RequestRecord]) -> dict[int, list]:
        """For each record, the requests of its tenant sharing an identity reference with it (itself
        included), with their type and state as this transaction sees them: one query a thousand
        references."""
        refs = sorted({ref for r in records for ref in r.subject_refs})
        by_ref: dict[str, list] = {}
        for start in range(0, len(refs), 1000):
            rows = conn.execute(
                sa.select(
                    requests_t.c.id,
                    requests_t.c.tenant,
                    requests_t.c.type,
                    requests_t.c.state,
                    identities_t.c.ref,
                )
                .join(identities_t, identities_t.c.request_id == requests_t.c.id)
                .where(identities_t.c.ref.in_(refs[start : start + 1000]))
            )
            for row in rows:
                by_ref.setdefault(row.ref, []).append(row)
        return {
            r.id: [
                other for ref in r.subject_refs for other in by_ref.get(ref, ()) if other.tenant == r.tenant
            ]
            for r in records
        }

    # -- an erased subject is forgotten by every earlier request ----------------------------

    @staticmethod
    def _first_later_erasure(record: RequestRecord, sharing: Sequence) -> int | None:
        """Among the requests sharing `record`'s subject, the first completed erasure received after it."""
        later = [r.id for r in sharing if r.id > record.id and r.type == "erasure" and r.state == "completed"]
        return min(later, default=None)

    def erased_by(self, request_id: int) -> int | None:
        """The completed erasure that superseded this request, if its subject was erased since."""
        record = self.get(request_id)
        with self.db.engine.connect() as conn:
            return self._first_later_erasure(record, self._sharing(conn, [record])[record.id])

    def _supersede(self, conn, request_id: int, erasure_id: int, actor: str, now, mine: bool) -> bool:
        """An earlier request of an erased subject loses its identities and links; one not yet
        finished is closed (rejected, saying why). A request another live run holds is left to that
        run, which supersedes it when it finishes (`mine`: the caller's run holds it)."""
        record = self.get(request_id)  # tenant and references: they do not change
        row = conn.execute(  # state and lease as this transaction sees them
            sa.select(requests_t.c.state, requests_t.c.lease_run, requests_t.c.lease_until).where(
                requests_t.c.id == request_id
            )
        ).one()
        if row.state not in FINAL:
            live = row.lease_run is not None and row.lease_until is not None and row.lease_until >= now
            if live and not mine:
                return False
            why = f"superseded: the subject was erased by request {erasure_id}"
            self._transition(conn, request_id, "rejected", actor, why, now)
        held = conn.execute(
            sa.select(sa.func.count())
            .select_from(identities_t)
            .where(identities_t.c.request_id == request_id, identities_t.c.ciphertext.is_not(None))
        ).scalar()
        if held:  # once is enough: a second erasure of the subject finds it forgotten
            self._forget(conn, record, actor, now, {"erased_by": erasure_id})
        return True

    def _forget(self, conn, record: RequestRecord, actor: str, now, details: dict) -> None:
        self._forget_many(conn, [record], actor, now, details)

    def _forget_many(
        self, conn, records: Sequence[RequestRecord], actor: str, now, details: Mapping | None = None
    ) -> None:
        """The requests lose their identities and links, each audited (`identities_removed`)."""
        if not records:
            return
        ids = [r.id for r in records]
        conn.execute(
            sa.update(identities_t).where(identities_t.c.request_id.in_(ids)).values(ciphertext=None)
        )
        conn.execute(sa.delete(links_t).where(links_t.c.request_id.in_(ids)))
        events = [self.event(r, "identities_removed", actor, now, dict(details or {})) for r in records]
        self.db.ledger.append_many(conn, events)

    def get(self, request_id: int) -> RequestRecord:
        return self.get_many([request_id])[0]

    def get_many(self, request_ids: Sequence[int]) -> list[RequestRecord]:
        ids = [int(i) for i in request_ids]
        with self.db.engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(sa.select(requests_t).where(requests_t.c.id.in_(ids)))}
            idents = conn.execute(
                sa.select(identities_t.c.request_id, identities_t.c.ref, identities_t.c.ciphertext)
                .where(identities_t.c.request_id.in_(ids))
                .order_by(identities_t.c.position)
            ).fetchall()
        missing = [i for i in ids if i not in rows]
        if missing:
            raise UnknownRequest(f"no request {missing[0]}")
        by_request: dict[int, list] = {i: [] for i in ids}
        for x in idents:
            by_request[x.request_id].append(x)
        out = []
        for i in ids:
            r = rows[i]
            mine = by_request[i]
            out.append(
                RequestRecord(
                    r.id,
                    r.tenant,
                    r.type,
                    r.state,
                    r.received_at,
                    r.due_at,
                    r.updated_at,
                    tuple(x.ref for x in mine),
                    any(x.ciphertext is not None for x in mine),
                    json.loads(r.probe) if r.probe else None,
                    r.error,
                    r.lease_run,
                    r.lease_until,
                    r.external_ref,
                )
            )
        return out

    def list(
        self,
        state: str | None = None,
        tenant: str | None = None,
        due_before: datetime | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[RequestRecord]:
        """Requests by state and tenant, in id order; `due_before`: those not finished whose due date
        is earlier; `after` and `limit`: one page, the requests after the id `after`."""
        query = sa.select(requests_t.c.id).order_by(requests_t.c.id).limit(limit)
        if after is not None:
            query = query.where(requests_t.c.id > after)
        if state:
            query = query.where(requests_t.c.state == state)
        if tenant:
            query = query.where(requests_t.c.tenant == tenant)
        if due_before is not None:
            query = query.where(requests_t.c.due_at < due_before, requests_t.c.state.not_in(FINAL))
        with self.db.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        return self.get_many(ids) if ids else []

    def per_day(self, since: datetime) -> dict[str, tuple[int, int]]:
        """Per day (YYYY-MM-DD) since `since`: requests received, and requests completed (wholly or
        partially), from the transitions."""
        day = sa.func.substr(sa.cast(transitions_t.c.at, sa.String), 1, 10)
        query = (
            sa.select(day, transitions_t.c.to_state, sa.func.count())
            .where(
                transitions_t.c.at >= since,
                transitions_t.c.to_state.in_(("received", "completed", "partially_completed")),
            )
            .group_by(day, transitions_t.c.to_state)
        )
        out: dict[str, list[int]] = {}
        with self.db.engine.connect() as conn:
            for d, state, n in conn.execute(query):
                counts = out.setdefault(d, [0, 0])
                counts[0 if state == "received" else 1] += n
        return {d: (r, c) for d, (r, c) in sorted(out.items())}

    def unfinished(self) -> list[RequestRecord]:
        """Every request not completed, rejected or cancelled: those a deadline still matters for."""
        query = sa.select(requests_t.c.id).where(requests_t.c.state.not_in(FINAL)).order_by(requests_t.c.id)
        with self.db.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        return self.get_many(ids) if ids else []

    def subjects(self, request_ids: Sequence[int]) -> list[Subject]:
        """Decrypt identities for the lookup (three queries for the batch); refuses requests whose
        identities are gone."""
        ids = [int(i) for i in request_ids]
        keys = self.db.keys
        with self.db.engine.connect() as conn:
            tenants = dict(
                conn.execute(
                    sa.select(requests_t.c.id, requests_t.c.tenant).where(requests_t.c.id.in_(ids))
                ).all()
            )
            rows = conn.execute(
                sa.select(identities_t)
                .where(identities_t.c.request_id.in_(ids))
                .order_by(identities_t.c.request_id, identities_t.c.position)
            ).fetchall()
            links = self.db.links.read_many(conn, ids)
        by_request: dict[int, list] = {i: [] for i in ids}
        for r in rows:
            by_request[r.request_id].append(r)
        out = []
        for request_id in ids:
            if request_id not in tenants:
                raise UnknownRequest(f"no request {request_id}")
            mine = by_request[request_id]
            if any(r.ciphertext is None for r in mine):
                raise RequestStateError(f"request {request_id}: identities were removed after erasure")
            idents = tuple(
                Identity(r.kind, keys.decrypt(r.ciphertext, sealed.identity(request_id, r.position)).decode())
                for r in mine
            )
            out.append(Subject(request_id, tenants[request_id], idents, links[request_id]))
        return out

    def verified_since(self, after_seq: int, limit: int = 1000) -> list[tuple[int, int, str]]:
        """(transition seq, request id, type) of requests verified after `after_seq` and still verified."""
        query = (
            sa.select(transitions_t.c.seq, requests_t.c.id, requests_t.c.type)
            .join(requests_t, requests_t.c.id == transitions_t.c.request_id)
            .where(
                transitions_t.c.to_state == "verified",
                transitions_t.c.seq > after_seq,
                requests_t.c.state == "verified",
            )
            .order_by(transitions_t.c.seq)
            .limit(limit)
        )
        with self.db.engine.connect() as conn:
            return [(r.seq, r.id, r.type) for r in conn.execute(query)]

    def transitions(self, request_id: int) -> list[dict]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(transitions_t)
                .where(transitions_t.c.request_id == request_id)
                .order_by(transitions_t.c.seq)
            )
            return [dict(r._mapping) for r in rows]

    # -- audit ----------------------------------------------------------------------------

    def event(self, record: RequestRecord, event: str, actor: str, at: datetime, details: dict) -> Event:
        """A ledger event about one request (its tenant and subject references)."""
        return Event(at, actor, event, record.tenant, record.id, record.subject_refs, details)

    def audit_in(
        self, conn, record: RequestRecord, event: str, actor: str, at: datetime, details: dict
    ) -> None:
        """A ledger event about one request, in the caller's transaction."""
        self.db.ledger.append_many(conn, [self.event(record, event, actor, at, details)])

    def audit(self, request_id: int, event: str, actor: str, details: dict) -> None:
        record = self.get(request_id)
        with self.db.engine.begin() as conn:
            self.audit_in(conn, record, event, actor, self.db.clock(), details)
