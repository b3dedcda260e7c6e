"""What goes over the wire: request bodies and responses. Responses carry ids, states, dates and
counts; never an identity, not even the one a controller just sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

from ...service.holds import Hold
from ...service.requests import RequestRecord, RequestStatus
from ...service.webhooks import Queued, Webhook

RequestType = Literal["access", "erasure", "restriction", "lift-restriction"]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _naive_utc(moment: datetime) -> datetime:
    return _utc(moment).replace(tzinfo=None)


# Out: the state database's times (UTC, kept without a zone) with their zone, RFC 3339 as OpenAPI's
# date-time wants. In: any zone (none means UTC), as the database keeps them.
Utc = Annotated[datetime, AfterValidator(_utc)]
Instant = Annotated[datetime, AfterValidator(_naive_utc)]
# Ids in paths: what the state database's integer keys can hold (a larger one is a 422, not a 500).
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


class Identity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=40, examples=["email"])
    value: str = Field(min_length=1, max_length=320, examples=["ann@example.com"])


class NewRequest(BaseModel):
    """A data-subject request. The tenant is the key's."""

    model_config = ConfigDict(extra="forbid")

    type: RequestType
    identities: list[Identity] = Field(min_length=1, max_length=20)
    external_ref: str | None = Field(
        default=None, max_length=200, description="your own reference (shown back: no personal data)"
    )
    verified: bool = Field(default=False, description="you have verified the subject's identity")

    def pairs(self) -> list[str]:
        return [f"{i.kind}={i.value}" for i in self.identities]


class Receipt(BaseModel):
    id: int
    tenant: str
    type: str
    state: str
    received_at: Utc
    due_at: Utc
    external_ref: str | None = None

    @classmethod
    def of(cls, r: RequestRecord) -> Receipt:
        return Receipt.model_validate(r, from_attributes=True)


class Receipts(BaseModel):
    items: list[Receipt]


class CollectionOutcome(BaseModel):
    collection: str
    counts: dict[str, int]
    reason: str | None = None


class StoreOutcome(BaseModel):
    status: str
    note: str | None = None
    collections: list[CollectionOutcome] = []


class Backup(BaseModel):
    store: str
    name: str
    taken_at: Utc
    expected_gone_by: Utc
    gone_at: Utc | None = None


class Backups(BaseModel):
    state: str
    since: Utc
    backups: list[Backup]


class Change(BaseModel):
    at: Utc
    state: str


class RequestDetail(Receipt):
    updated_at: Utc
    note: str | None = None
    probe_residual: int | None = Field(default=None, description="erasures: rows the probe still found")
    stores: dict[str, StoreOutcome] = {}
    skipped_items: int = 0
    backups: Backups | None = None
    history: list[Change] = []

    @classmethod
    def of_status(cls, found: RequestStatus) -> RequestDetail:
        r = found.record
        stores = {
            name: StoreOutcome(status=v["status"], note=v.get("error"), collections=[])
            for name, v in sorted(found.stores.items())
        }
        for c in found.results:
            counts = {k: v for k, v in vars(c).items() if isinstance(v, int) and v}
            outcome = stores.setdefault(c.store, StoreOutcome(status="planned"))
            outcome.collections.append(
                CollectionOutcome(collection=c.collection, counts=counts, reason=c.reason)
            )
        backups = None
        if found.backups:
            backups = Backups(
                state=found.backups["state"],
                since=found.backups["since"],
                backups=[
                    Backup(
                        store=b["store"],
                        name=b["name"],
                        taken_at=b["taken_at"],
                        expected_gone_by=b["due_by"],
                        gone_at=b["gone_at"],
                    )
                    for b in found.backups["backups"]
                ],
            )
        return cls(
            **Receipt.of(r).model_dump(),
            updated_at=r.updated_at,
            note=r.error,
            probe_residual=r.probe["residual"] if r.probe else None,
            stores=stores,
            skipped_items=len({(s.store, s.collection, s.item) for s in found.skipped}),
            backups=backups,
            history=[Change(at=h["at"], state=h["to_state"]) for h in found.history],
        )


class Page(BaseModel):
    items: list[Receipt]
    next_cursor: str | None = Field(default=None, description="pass as `cursor` for the next page")


class Extension(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = Field(examples=["P1M"], description="an ISO-8601 duration; two months at most in all")
    reason: str = Field(min_length=1, max_length=1000)


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    schema_version: str


class NewHold(BaseModel):
    """A legal hold on one subject, or on one collection of a store."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)
    identity: Identity | None = None
    store: str | None = Field(default=None, max_length=100)
    collection: str | None = Field(default=None, max_length=200)
    until: Instant | None = None


class HoldView(BaseModel):
    id: int
    state: Literal["active", "released", "expired"]
    identity_kind: str | None = None
    store: str | None = None
    collection: str | None = None
    until: Utc | None = None
    created_at: Utc
    released_at: Utc | None = None

    @classmethod
    def of(cls, hold: Hold, now: datetime) -> HoldView:
        state = "active" if hold.active(now) else ("released" if hold.released_at else "expired")
        return cls(
            id=hold.id,
            state=state,
            identity_kind=hold.identity_kind,
            store=hold.store,
            collection=hold.collection,
            until=hold.until,
            created_at=hold.created_at,
            released_at=hold.released_at,
        )


class HoldViews(BaseModel):
    items: list[HoldView]


class NewWebhook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl


class WebhookView(BaseModel):
    id: int
    url: str
    created_at: Utc

    @classmethod
    def of(cls, hook: Webhook) -> WebhookView:
        return WebhookView.model_validate(hook, from_attributes=True)


class WebhookCreated(WebhookView):
    secret: str = Field(description="signs every callback (Dsr-Signature); shown only here")


class WebhookViews(BaseModel):
    items: list[WebhookView]


class Delivery(BaseModel):
    id: int
    event_id: str
    type: str
    tenant: str
    request_id: int | None = None
    state: Literal["pending", "delivered", "dead"]
    attempts: int
    last_status: int | None = None
    last_error: str | None = None
    created_at: Utc
    delivered_at: Utc | None = None

    @classmethod
    def of(cls, e: Queued) -> Delivery:
        return cls(
            id=e.id,
            event_id=e.event_id,
            type=e.kind,
            tenant=e.tenant,
            request_id=e.request_id,
            state=e.state,
            attempts=e.attempts,
            last_status=e.last_status,
            last_error=e.last_error,
            created_at=e.created_at,
            delivered_at=e.delivered_at,
        )


class Deliveries(BaseModel):
    items: list[Delivery]
