"""Legal holds: data that must be kept (litigation, an authority's order) whatever a rule or request says.

A hold covers one subject of a tenant (by identity) or one collection of a store (for a tenant,
or whole when the collection has no tenant field). Sweeps leave held data; an erasure skips it,
ends `partially_completed` naming the hold, and is run again once every hold it met is released
(or has passed its `until`). Holds are kept beside the requests; the identity is encrypted, and
the ledger knows it only by reference. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from connectors import SOURCE, Connector
from connectors.matching import matches

from . import links, lookup
from .datamap import Datamap, StoreMap
from .errors import DsrError
from .identities import Identity
from .ledger import metadata
from .lookup import Findings
from .request_store import RequestStore, Subject, requests_t

holds_t = sa.Table(
    "dsr_holds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(200), nullable=False, index=True),
    sa.Column("identity_kind", sa.String(40)),
    sa.Column("identity_ref", sa.String(64), index=True),
    sa.Column("ciphertext", sa.LargeBinary),  # the identity, for finding the held records
    sa.Column("store", sa.String(63)),
    sa.Column("collection", sa.String(200)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("until", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("released_at", sa.DateTime),
    sa.Column("released_by", sa.String(200)),
)
# Which holds deferred which store of which request: a released hold lets those run again.
request_holds_t = sa.Table(
    "dsr_request_holds",
    metadata,
    sa.Column("request_id", sa.Integer, sa.ForeignKey("dsr_requests.id"), primary_key=True),
    sa.Column("hold_id", sa.Integer, sa.ForeignKey("dsr_holds.id"), primary_key=True),
    sa.Column("store", sa.String(63), primary_key=True),
)


class HoldError(DsrError):
    pass


@dataclass(frozen=True)
class Hold:
    id: int
    tenant: str
    identity_kind: str | None
    identity_ref: str | None
    store: str | None
    collection: str | None
    reason: str
    until: datetime | None
    created_at: datetime
    created_by: str
    released_at: datetime | None = None
    released_by: str | None = None
    sealed_identity: bytes | None = field(default=None, repr=False, compare=False)  # encrypted value

    @property
    def name(self) -> str:
        return f"legal hold {self.id}"

    @property
    def scope(self) -> str:
        if self.identity_kind:
            return f"subject ({self.identity_kind} ref {self.identity_ref[:12]})"
        return f"{self.store}.{self.collection}"

    def active(self, now: datetime) -> bool:
        return self.released_at is None and (self.until is None or now < self.until)

    def covers(self, store: str, collection: str) -> bool:
        return self.identity_kind is None and (self.store, self.collection) == (store, collection)


class Holds:
    """Holds in the request store's database, audited in its ledger."""

    def __init__(self, requests: RequestStore):
        self.rs = requests
        metadata.create_all(requests.engine, tables=[holds_t, request_holds_t])

    def add(
        self,
        tenant: str,
        reason: str,
        actor: str,
        *,
        identity: Identity | None = None,
        store: str | None = None,
        collection: str | None = None,
        until: datetime | None = None,
    ) -> int:
        if not tenant.strip():
            raise HoldError("a hold needs a tenant")
        if not reason.strip():
            raise HoldError("a hold needs a reason")
        if (identity is None) == (store is None or collection is None):
            raise HoldError(
                "a hold covers either a subject (--identity) or a collection (--store and --collection)"
            )
        now = self.rs.clock()
        if until is not None and until <= now:
            raise HoldError(f"--until {until.date()} is not in the future")
        ref = self.rs.keys.subject_ref(identity) if identity else None
        with self.rs.engine.begin() as conn:
            hold_id = conn.execute(
                sa.insert(holds_t).values(
                    tenant=tenant,
                    identity_kind=identity.kind if identity else None,
                    identity_ref=ref,
                    store=store,
                    collection=collection,
                    reason=reason,
                    until=until,
                    created_at=now,
                    created_by=actor,
                )
            ).inserted_primary_key[0]
            if identity is not None:
                blob = self.rs.keys.encrypt(identity.value.encode(), f"hold:{hold_id}")
                conn.execute(sa.update(holds_t).where(holds_t.c.id == hold_id).values(ciphertext=blob))
            # The reason is the operator's free text: kept with the hold, not copied into the ledger.
            details = {"hold": hold_id, "until": until.isoformat() if until else None}
            details |= (
                {"identity_kind": identity.kind} if identity else {"store": store, "collection": collection}
            )
            self.rs.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="hold_added",
                tenant=tenant,
                subject_refs=[ref] if ref else [],
                details=details,
            )
        return int(hold_id)

    def release(self, hold_id: int, actor: str) -> Hold:
        hold = self.get(hold_id)
        if hold.released_at is not None:
            raise HoldError(f"legal hold {hold_id} was already released on {hold.released_at.date()}")
        now = self.rs.clock()
        with self.rs.engine.begin() as conn:
            conn.execute(
                sa.update(holds_t).where(holds_t.c.id == hold_id).values(released_at=now, released_by=actor)
            )
            self.rs.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="hold_released",
                tenant=hold.tenant,
                subject_refs=[hold.identity_ref] if hold.identity_ref else [],
                details={"hold": hold_id},
            )
        return self.get(hold_id)

    def get(self, hold_id: int) -> Hold:
        found = self._select(holds_t.c.id == hold_id)
        if not found:
            raise HoldError(f"no legal hold {hold_id}")
        return found[0]

    def list(self, tenant: str | None = None) -> list[Hold]:
        return self._select(holds_t.c.tenant == tenant if tenant else sa.true())

    def active(self, tenant: str | None = None) -> list[Hold]:
        now = self.rs.clock()
        return [h for h in self.list(tenant) if h.active(now)]

    def _select(self, condition) -> list[Hold]:
        with self.rs.engine.connect() as conn:
            rows = conn.execute(sa.select(holds_t).where(condition).order_by(holds_t.c.id)).fetchall()
        return [
            Hold(
                r.id,
                r.tenant,
                r.identity_kind,
                r.identity_ref,
                r.store,
                r.collection,
                r.reason,
                r.until,
                r.created_at,
                r.created_by,
                r.released_at,
                r.released_by,
                r.ciphertext,
            )
            for r in rows
        ]

    def subjects(self, holds: Sequence[Hold]) -> list[Subject]:
        """The held subjects, for finding their records; numbered -hold id so they never meet a request."""
        out = []
        for hold in holds:
            if hold.identity_kind and hold.sealed_identity is not None:
                value = self.rs.keys.decrypt(hold.sealed_identity, f"hold:{hold.id}").decode()
                out.append(Subject(-hold.id, hold.tenant, (Identity(hold.identity_kind, value),)))
        return out

    # -- requests the holds deferred --------------------------------------------------------

    def defer(self, request_id: int, store: str, holds: Sequence[Hold]) -> None:
        with self.rs.engine.begin() as conn:
            for hold in holds:
                key = {"request_id": request_id, "hold_id": hold.id, "store": store}
                exists = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(request_holds_t)
                    .where(*(request_holds_t.c[k] == v for k, v in key.items()))
                ).scalar()
                if not exists:
                    conn.execute(sa.insert(request_holds_t).values(key))

    def deferring(self, request_id: int) -> list[Hold]:
        with self.rs.engine.connect() as conn:
            ids = sorted(
                set(
                    conn.execute(
                        sa.select(request_holds_t.c.hold_id).where(request_holds_t.c.request_id == request_id)
                    ).scalars()
                )
            )
        return [self.get(i) for i in ids]

    def ready(self) -> list[int]:
        """Partially completed requests held back by holds none of which is still active: to run again."""
        now = self.rs.clock()
        with self.rs.engine.connect() as conn:
            rows = conn.execute(
                sa.select(request_holds_t.c.request_id, request_holds_t.c.hold_id)
                .join(requests_t, requests_t.c.id == request_holds_t.c.request_id)
                .where(requests_t.c.state == "partially_completed")
            ).fetchall()
        by_request: dict[int, set[int]] = {}
        for r in rows:
            by_request.setdefault(r.request_id, set()).add(r.hold_id)
        holds = {h.id: h for h in self.list()}
        return sorted(r for r, ids in by_request.items() if not any(holds[i].active(now) for i in ids))


@dataclass(frozen=True)
class HeldGroup:
    """Subjects erased together under one store map: the collections their holds cover are retained."""

    store_map: StoreMap
    subjects: list[Subject]
    met: dict[int, list[Hold]]  # per request, the holds it met in this store


def held_findings(
    datamap: Datamap, connector: Callable[[str], Connector], store: str, held: Sequence[Subject]
) -> Findings | None:
    """The records of held subjects (request id: minus the hold's id) in `store`, links resolved."""
    store_map = datamap.stores.get(store)
    if not held or store_map is None:
        return None
    found = links.resolve(datamap, connector, held)
    linked = [links.with_links(s, found[s.request_id]) for s in held]
    return lookup.find_subjects(store_map, connector(store), linked)


def held_keys(
    store_map: StoreMap, kind: str, findings: Findings | None
) -> dict[str, list[tuple[int, pa.Table]]]:
    """Per collection, the keys of the records held subjects own, as (hold id, keys): what a sweep
    or purge keeps. Objects go whole, so a held record keeps its object (`_source`)."""
    out: dict[str, list[tuple[int, pa.Table]]] = {}
    if findings is None:
        return out
    for collection, table in findings.tables.items():
        columns = [SOURCE] if kind == "s3" else lookup.row_key(store_map.collections[collection], table)
        for request in set(table[lookup.REQUEST].to_pylist()):
            mine = table.filter(pc.equal(table[lookup.REQUEST], request))
            out.setdefault(collection, []).append((-request, mine.select(columns)))
    return out


def overlapping(store_map: StoreMap, mine: Findings, held: Findings | None) -> dict[int, set[int]]:
    """Per request, the holds whose subject owns some of the request's records in this store.

    This is how a hold placed on one identity (a phone) meets an erasure asked by another (an
    email) of the same person: they share records.
    """
    out: dict[int, set[int]] = {}
    if held is None:
        return out
    for collection, rows in mine.tables.items():
        theirs = held.tables.get(collection)
        if theirs is None:
            continue
        columns = lookup.row_key(store_map.collections[collection], rows)
        for hold_request in set(theirs[lookup.REQUEST].to_pylist()):
            keys = theirs.filter(pc.equal(theirs[lookup.REQUEST], hold_request)).select(columns)
            shared = rows.filter(matches(rows, keys))
            for request_id in set(shared[lookup.REQUEST].to_pylist()):
                out.setdefault(request_id, set()).add(-hold_request)
    return out


def split_by_holds(
    store: str,
    store_map: StoreMap,
    subjects: Sequence[Subject],
    refs: Mapping[int, Sequence[str]],
    active: Sequence[Hold],
    overlap: Mapping[int, set[int]],
) -> list[HeldGroup]:
    """Group an erasure's subjects by what holds keep of theirs in `store`.

    A subject on hold (named by one of the request's identities, or sharing records with the held
    subject: `overlap`) keeps everything; a collection on hold keeps its tenant's rows (all rows,
    when the collection has no tenant field). Held collections become `retain`, with the hold as
    the legal basis, so the erasure counts them as retained and changes the rest.
    """
    groups: dict[tuple, HeldGroup] = {}
    for subject in subjects:
        held: dict[str, list[Hold]] = {}
        for hold in active:
            named = hold.identity_ref in refs[subject.request_id]
            if (
                hold.identity_ref
                and hold.tenant == subject.tenant
                and (named or hold.id in overlap.get(subject.request_id, ()))
            ):
                for name in store_map.collections:
                    held.setdefault(name, []).append(hold)
            elif hold.store == store and hold.collection in store_map.collections:
                spec = store_map.collections[hold.collection]
                if hold.tenant == subject.tenant or not spec.tenant_field:
                    held.setdefault(hold.collection, []).append(hold)
        signature = tuple(sorted((c, tuple(h.id for h in hs)) for c, hs in held.items()))
        if signature not in groups:
            groups[signature] = HeldGroup(_retaining(store_map, held), [], {})
        group = groups[signature]
        group.subjects.append(subject)
        met = sorted({h.id: h for hs in held.values() for h in hs}.values(), key=lambda h: h.id)
        if met:
            group.met[subject.request_id] = met
    return list(groups.values())


def _retaining(store_map: StoreMap, held: Mapping[str, Sequence[Hold]]) -> StoreMap:
    if not held:
        return store_map
    collections = dict(store_map.collections)
    for name, holds in held.items():
        basis = ", ".join(h.name for h in holds)
        collections[name] = collections[name].model_copy(update={"erase": "retain", "legal_basis": basis})
    return store_map.model_copy(update={"collections": collections})
