"""The request store: requests, their lifecycle and results, and the ledger beside them.

Identities are kept encrypted (AES-256-GCM, bound to the request and position) and are
removed once an erasure has completed; from then on the request knows its subject only by
HMAC reference. So are the keys a subject was linked by across stores (their customer id,
found in one store, reaches their events in another): they are recorded before any store
changes, so a re-run still reaches every store after the first one erased the link.
Every state change is stored with its time and actor, and audited in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from .durations import Duration
from .errors import RequestStateError, UnknownRequest
from .identities import Identity
from .keys import Keys
from .ledger import Ledger, metadata

REQUEST_TYPES = ("access", "erasure", "restriction", "lift-restriction")
COUNTS = (
    "found",
    "exported",
    "deleted",
    "masked",
    "retained",
    "residual",
    "skipped",
    "versions",
    "restricted",
    "lifted",
)
FINAL = ("completed", "rejected")
RUNNABLE = ("verified", "running", "failed", "partially_completed")
TRANSITIONS = {
    "received": {"verified", "rejected"},
    "verified": {"running", "rejected"},
    "running": {"running", "completed", "partially_completed", "failed"},
    "failed": {"running", "rejected"},
    "partially_completed": {"running"},
    "completed": set(),
    "rejected": set(),
}

requests_t = sa.Table(
    "dsr_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(200), nullable=False, index=True),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("state", sa.String(40), nullable=False, index=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("due_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("probe", sa.Text),
    sa.Column("error", sa.Text),
)
identities_t = sa.Table(
    "dsr_request_identities",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("ref", sa.String(64), nullable=False, index=True),
    sa.Column("ciphertext", sa.LargeBinary),
)
transitions_t = sa.Table(
    "dsr_request_transitions",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("from_state", sa.String(40)),
    sa.Column("to_state", sa.String(40), nullable=False),
    sa.Column("note", sa.Text),
)
store_runs_t = sa.Table(
    "dsr_store_runs",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("store", sa.String(63), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("finished_at", sa.DateTime, nullable=False),
)
links_t = sa.Table(
    "dsr_request_links",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("link", sa.String(400), primary_key=True),  # e.g. shop.customers(id)
    sa.Column("ciphertext", sa.LargeBinary),  # JSON list of key tuples, encrypted
)
skipped_t = sa.Table(
    "dsr_skipped",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), nullable=False, index=True),
    sa.Column("store", sa.String(63), nullable=False),
    sa.Column("collection", sa.String(200), nullable=False),
    # An object key or file name may itself be personal: encrypted like identities.
    sa.Column("item", sa.LargeBinary, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)
results_t = sa.Table(
    "dsr_results",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("store", sa.String(63), primary_key=True),
    sa.Column("collection", sa.String(200), primary_key=True),
    sa.Column("found", sa.Integer, nullable=False, default=0),
    sa.Column("exported", sa.Integer, nullable=False, default=0),
    sa.Column("deleted", sa.Integer, nullable=False, default=0),
    sa.Column("masked", sa.Integer, nullable=False, default=0),
    sa.Column("retained", sa.Integer, nullable=False, default=0),
    sa.Column("residual", sa.Integer, nullable=False, default=0),
    sa.Column("skipped", sa.Integer, nullable=False, default=0),
    sa.Column("versions", sa.Integer, nullable=False, default=0),
    sa.Column("restricted", sa.Integer, nullable=False, default=0),
    sa.Column("lifted", sa.Integer, nullable=False, default=0),
    sa.Column("reason", sa.Text),
)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


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
class SkippedItem:
    """An object or file a store could not read or change for a request, and why."""

    store: str
    collection: str
    item: str
    reason: str


@dataclass(frozen=True)
class CollectionResult:
    store: str
    collection: str
    found: int = 0
    exported: int = 0
    deleted: int = 0
    masked: int = 0
    retained: int = 0
    residual: int = 0
    skipped: int = 0  # objects or files that could not be read or changed (listed per request)
    versions: int = 0  # older object versions deleted
    restricted: int = 0  # records newly marked restricted
    lifted: int = 0  # records whose restriction was lifted
    reason: str | None = None


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


class RequestStore:
    def __init__(self, url: str, keys: Keys, clock: Callable[[], datetime] = utcnow):
        self.engine = sa.create_engine(url, hide_parameters=True)
        self.keys = keys
        self.clock = clock
        self.ledger = Ledger(self.engine)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

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
        if type_ not in REQUEST_TYPES:
            raise RequestStateError(f"unknown request type {type_!r} (known: {', '.join(REQUEST_TYPES)})")
        if not tenant or not tenant.strip():
            raise RequestStateError("a request needs a tenant")
        if not identities:
            raise RequestStateError("a request needs at least one identity")
        unique = sorted(set(identities))
        now = self.clock()
        refs = [self.keys.subject_ref(i) for i in unique]
        with self.engine.begin() as conn:
            request_id = conn.execute(
                sa.insert(requests_t).values(
                    tenant=tenant,
                    type=type_,
                    state="received",
                    received_at=now,
                    due_at=response_period.add_to(now),
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(
                sa.insert(identities_t),
                [
                    {
                        "request_id": request_id,
                        "position": pos,
                        "kind": ident.kind,
                        "ref": ref,
                        "ciphertext": self.keys.encrypt(ident.value.encode(), f"request:{request_id}:{pos}"),
                    }
                    for pos, (ident, ref) in enumerate(zip(unique, refs, strict=True))
                ],
            )
            conn.execute(
                sa.insert(transitions_t).values(
                    request_id=request_id, at=now, actor=actor, from_state=None, to_state="received"
                )
            )
            self.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="submitted",
                tenant=tenant,
                request_id=request_id,
                subject_refs=refs,
                details={"type": type_, "identity_kinds": sorted({i.kind for i in unique})},
            )
            if verified:
                self._transition(conn, request_id, "verified", actor, None, now)
        return int(request_id)

    def verify(self, request_id: int, actor: str) -> None:
        self.transition(request_id, "verified", actor)

    def reject(self, request_id: int, actor: str, reason: str) -> None:
        self.transition(request_id, "rejected", actor, reason)

    def extend(self, request_id: int, period: Duration, reason: str, actor: str) -> datetime:
        record = self.get(request_id)
        if record.state in FINAL:
            raise RequestStateError(f"request {request_id} is {record.state}; its due date no longer matters")
        if not reason.strip():
            raise RequestStateError("an extension needs a reason")
        due = period.add_to(record.due_at)
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(requests_t).where(requests_t.c.id == request_id).values(due_at=due, updated_at=now)
            )
            self._audit(
                conn, record, "due_date_extended", actor, now, {"due_at": due.isoformat(), "reason": reason}
            )
        return due

    # -- lifecycle ------------------------------------------------------------------------

    def transition(self, request_id: int, to_state: str, actor: str, note: str | None = None) -> None:
        with self.engine.begin() as conn:
            self._transition(conn, request_id, to_state, actor, note, self.clock())

    def _transition(self, conn, request_id: int, to_state: str, actor: str, note: str | None, now) -> None:
        row = conn.execute(
            sa.select(requests_t).where(requests_t.c.id == request_id).with_for_update()
        ).first()
        if row is None:
            raise UnknownRequest(f"no request {request_id}")
        if to_state not in TRANSITIONS[row.state]:
            raise RequestStateError(f"request {request_id} is {row.state}; it cannot become {to_state}")
        values = {"state": to_state, "updated_at": now}
        if to_state in ("failed", "partially_completed", "rejected"):
            values["error"] = note
        elif to_state in ("running", "completed"):
            values["error"] = None
        conn.execute(sa.update(requests_t).where(requests_t.c.id == request_id).values(values))
        conn.execute(
            sa.insert(transitions_t).values(
                request_id=request_id, at=now, actor=actor, from_state=row.state, to_state=to_state, note=note
            )
        )
        refs = conn.execute(
            sa.select(identities_t.c.ref).where(identities_t.c.request_id == request_id)
        ).scalars()
        self.ledger.append(
            conn,
            at=now,
            actor=actor,
            event=to_state,
            tenant=row.tenant,
            request_id=request_id,
            subject_refs=list(refs),
            details={"from": row.state, **({"note": note} if note else {})},
        )

    def start(self, request_ids: Iterable[int], actor: str) -> None:
        for request_id in request_ids:
            record = self.get(request_id)
            if record.state not in RUNNABLE:
                raise RequestStateError(f"request {request_id} is {record.state}; only verified requests run")
            self.transition(request_id, "running", actor, "resumed" if record.state != "verified" else None)

    # -- reading --------------------------------------------------------------------------

    def get(self, request_id: int) -> RequestRecord:
        return self.get_many([request_id])[0]

    def get_many(self, request_ids: Sequence[int]) -> list[RequestRecord]:
        ids = [int(i) for i in request_ids]
        with self.engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(sa.select(requests_t).where(requests_t.c.id.in_(ids)))}
            idents = conn.execute(
                sa.select(identities_t.c.request_id, identities_t.c.ref, identities_t.c.ciphertext)
                .where(identities_t.c.request_id.in_(ids))
                .order_by(identities_t.c.position)
            ).fetchall()
        missing = [i for i in ids if i not in rows]
        if missing:
            raise UnknownRequest(f"no request {missing[0]}")
        out = []
        for i in ids:
            r = rows[i]
            mine = [x for x in idents if x.request_id == i]
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
                )
            )
        return out

    def list(self, state: str | None = None, tenant: str | None = None) -> list[RequestRecord]:
        query = sa.select(requests_t.c.id).order_by(requests_t.c.id)
        if state:
            query = query.where(requests_t.c.state == state)
        if tenant:
            query = query.where(requests_t.c.tenant == tenant)
        with self.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        return self.get_many(ids) if ids else []

    def subjects(self, request_ids: Sequence[int]) -> list[Subject]:
        """Decrypt identities for the lookup; refuses requests whose identities are gone."""
        out = []
        with self.engine.connect() as conn:
            for request_id in request_ids:
                tenant = conn.execute(
                    sa.select(requests_t.c.tenant).where(requests_t.c.id == request_id)
                ).scalar()
                if tenant is None:
                    raise UnknownRequest(f"no request {request_id}")
                rows = conn.execute(
                    sa.select(identities_t)
                    .where(identities_t.c.request_id == request_id)
                    .order_by(identities_t.c.position)
                ).fetchall()
                if any(r.ciphertext is None for r in rows):
                    raise RequestStateError(f"request {request_id}: identities were removed after erasure")
                idents = tuple(
                    Identity(
                        r.kind, self.keys.decrypt(r.ciphertext, f"request:{request_id}:{r.position}").decode()
                    )
                    for r in rows
                )
                out.append(Subject(request_id, tenant, idents, self._links(conn, request_id)))
        return out

    def _links(self, conn, request_id: int) -> dict[str, tuple[tuple, ...]]:
        rows = conn.execute(
            sa.select(links_t).where(links_t.c.request_id == request_id, links_t.c.ciphertext.is_not(None))
        )
        return {
            r.link: tuple(
                tuple(t) for t in json.loads(self.keys.decrypt(r.ciphertext, f"link:{request_id}:{r.link}"))
            )
            for r in rows
        }

    def save_links(self, links: Mapping[int, Mapping[str, Iterable[tuple]]]) -> int:
        """Add link keys to what each request already holds (never drops any); returns how many are new."""
        added = 0
        with self.engine.begin() as conn:
            for request_id, by_link in links.items():
                known = self._links(conn, request_id)
                for link, tuples in by_link.items():
                    before = set(known.get(link, ()))
                    merged = before | {tuple(t) for t in tuples}
                    if merged == before:
                        continue
                    added += len(merged - before)
                    blob = self.keys.encrypt(
                        json.dumps(sorted(merged, key=repr), default=str).encode(),
                        f"link:{request_id}:{link}",
                    )
                    conn.execute(
                        sa.delete(links_t).where(links_t.c.request_id == request_id, links_t.c.link == link)
                    )
                    conn.execute(sa.insert(links_t).values(request_id=request_id, link=link, ciphertext=blob))
        return added

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
        with self.engine.connect() as conn:
            return [(r.seq, r.id, r.type) for r in conn.execute(query)]

    def transitions(self, request_id: int) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(transitions_t)
                .where(transitions_t.c.request_id == request_id)
                .order_by(transitions_t.c.seq)
            )
            return [dict(r._mapping) for r in rows]

    # -- results --------------------------------------------------------------------------

    def store_status(self, request_id: int) -> dict[str, dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(store_runs_t).where(store_runs_t.c.request_id == request_id))
            return {r.store: {"status": r.status, "error": r.error} for r in rows}

    def done_stores(self, request_ids: Sequence[int]) -> set[tuple[int, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(store_runs_t.c.request_id, store_runs_t.c.store).where(
                    store_runs_t.c.request_id.in_(list(request_ids)), store_runs_t.c.status == "done"
                )
            )
            return {(r.request_id, r.store) for r in rows}

    def record_store(
        self,
        request_id: int,
        store: str,
        status: str,
        results: Sequence[CollectionResult],
        actor: str,
        error: str | None = None,
        skipped: Sequence[SkippedItem] = (),
    ) -> None:
        """Store one store's outcome for one request (replacing an earlier attempt's)."""
        now = self.clock()
        record = self.get(request_id)
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(results_t).where(results_t.c.request_id == request_id, results_t.c.store == store)
            )
            conn.execute(
                sa.delete(store_runs_t).where(
                    store_runs_t.c.request_id == request_id, store_runs_t.c.store == store
                )
            )
            conn.execute(
                sa.delete(skipped_t).where(skipped_t.c.request_id == request_id, skipped_t.c.store == store)
            )
            if skipped:
                conn.execute(
                    sa.insert(skipped_t),
                    [
                        {
                            "request_id": request_id,
                            "store": item.store,
                            "collection": item.collection,
                            "item": self.keys.encrypt(item.item.encode(), f"skipped:{request_id}"),
                            "reason": item.reason,
                        }
                        for item in skipped
                    ],
                )
            if results:
                conn.execute(
                    sa.insert(results_t),
                    [{"request_id": request_id, **vars(r)} for r in results],
                )
            conn.execute(
                sa.insert(store_runs_t).values(
                    request_id=request_id, store=store, status=status, error=error, finished_at=now
                )
            )
            totals = {k: sum(getattr(r, k) for r in results) for k in COUNTS}
            self._audit(
                conn,
                record,
                f"store_{status}",
                actor,
                now,
                {"store": store, **totals, **({"error": error} if error else {})},
            )

    def results(self, request_id: int) -> list[CollectionResult]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(results_t)
                .where(results_t.c.request_id == request_id)
                .order_by(results_t.c.store, results_t.c.collection)
            )
            return [
                CollectionResult(**{k: v for k, v in r._mapping.items() if k != "request_id"}) for r in rows
            ]

    def skipped(self, request_id: int) -> list[SkippedItem]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(skipped_t).where(skipped_t.c.request_id == request_id).order_by(skipped_t.c.seq)
            )
            return [
                SkippedItem(
                    r.store,
                    r.collection,
                    self.keys.decrypt(r.item, f"skipped:{request_id}").decode(),
                    r.reason,
                )
                for r in rows
            ]

    def finish(self, request_id: int, state: str, actor: str, note: str | None, probe: dict | None) -> None:
        """Final transition; a completed erasure also forgets the identities it was given."""
        record = self.get(request_id)
        now = self.clock()
        with self.engine.begin() as conn:
            if probe is not None:
                conn.execute(
                    sa.update(requests_t)
                    .where(requests_t.c.id == request_id)
                    .values(probe=json.dumps(probe, sort_keys=True))
                )
            self._transition(conn, request_id, state, actor, note, now)
            if state == "completed" and record.type == "erasure":
                conn.execute(
                    sa.update(identities_t)
                    .where(identities_t.c.request_id == request_id)
                    .values(ciphertext=None)
                )
                conn.execute(sa.delete(links_t).where(links_t.c.request_id == request_id))
                self._audit(conn, record, "identities_removed", actor, now, {})

    def _audit(
        self, conn, record: RequestRecord, event: str, actor: str, at: datetime, details: dict
    ) -> None:
        """A ledger event about one request, in the caller's transaction."""
        self.ledger.append(
            conn,
            at=at,
            actor=actor,
            event=event,
            tenant=record.tenant,
            request_id=record.id,
            subject_refs=record.subject_refs,
            details=details,
        )

    def audit(self, request_id: int, event: str, actor: str, details: dict) -> None:
        record = self.get(request_id)
        with self.engine.begin() as conn:
            self._audit(conn, record, event, actor, self.clock(), details)
