"""Controllers' webhooks as records: endpoints (their secrets sealed) and the outbox of events.

A request's state change is queued for every endpoint of its tenant in the transaction that makes
the change (`Requests._transition_many` calls `queue_transitions`), so no change goes unreported
and none is reported that did not happen. Sending, retrying and building bodies is the service's
(`service/webhooks.py`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..core.errors import DsrError
from . import sealed
from .schema import webhook_events_t, webhooks_t

if TYPE_CHECKING:
    from .db import StateDB

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


class UnknownWebhook(DsrError):
    pass


@dataclass(frozen=True)
class Webhook:
    id: int
    tenant: str
    url: str
    created_at: datetime
    removed_at: datetime | None


@dataclass(frozen=True)
class Queued:
    """One event for one endpoint: what the delivery log shows."""

    id: int
    webhook_id: int
    tenant: str
    event_id: str
    kind: str
    request_id: int | None
    details: dict
    body: str | None
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _queued(r) -> Queued:
    return Queued(
        r.id,
        r.webhook_id,
        r.tenant,
        r.event_id,
        r.kind,
        r.request_id,
        json.loads(r.details),
        r.body,
        r.state,
        r.attempts,
        r.next_attempt_at,
        r.last_status,
        r.last_error,
        r.created_at,
        r.delivered_at,
    )


class Webhooks:
    def __init__(self, db: StateDB):
        self.db = db

    # -- endpoints --------------------------------------------------------------------------

    def add(self, tenant: str, url: str, secret: str, actor: str) -> Webhook:
        now = self.db.clock()
        with self.db.engine.begin() as conn:
            webhook_id = conn.execute(
                sa.insert(webhooks_t)
                .values(tenant=tenant, url=url, created_at=now, created_by=actor)
                .returning(webhooks_t.c.id)
            ).scalar_one()
            sealed_secret = self.db.keys.encrypt(secret.encode(), sealed.webhook_secret(webhook_id))
            conn.execute(
                sa.update(webhooks_t).where(webhooks_t.c.id == webhook_id).values(secret=sealed_secret)
            )
            self.db.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="webhook_added",
                tenant=tenant,
                details={"webhook": webhook_id},
            )
        return self.get(webhook_id)

    def get(self, webhook_id: int) -> Webhook:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(webhooks_t).where(webhooks_t.c.id == webhook_id)).first()
        if row is None:
            raise UnknownWebhook(f"no webhook {webhook_id}")
        return Webhook(row.id, row.tenant, row.url, row.created_at, row.removed_at)

    def secret(self, webhook_id: int) -> str:
        with self.db.engine.connect() as conn:
            blob = conn.execute(sa.select(webhooks_t.c.secret).where(webhooks_t.c.id == webhook_id)).scalar()
        return self.db.keys.decrypt(blob, sealed.webhook_secret(webhook_id)).decode()

    def list(self, tenant: str | None = None) -> list[Webhook]:
        query = sa.select(webhooks_t).where(webhooks_t.c.removed_at.is_(None)).order_by(webhooks_t.c.id)
        if tenant is not None:
            query = query.where(webhooks_t.c.tenant == tenant)
        with self.db.engine.connect() as conn:
            return [Webhook(r.id, r.tenant, r.url, r.created_at, r.removed_at) for r in conn.execute(query)]

    def remove(self, webhook_id: int, actor: str) -> None:
        """No more events for it; what is queued for it is dropped, its log kept."""
        hook, now = self.get(webhook_id), self.db.clock()
        with self.db.engine.begin() as conn:
            conn.execute(sa.update(webhooks_t).where(webhooks_t.c.id == webhook_id).values(removed_at=now))
            conn.execute(
                sa.update(webhook_events_t)
                .where(webhook_events_t.c.webhook_id == webhook_id, webhook_events_t.c.state == PENDING)
                .values(state=DEAD, last_error="the webhook was removed")
            )
            self.db.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="webhook_removed",
                tenant=hook.tenant,
                details={"webhook": webhook_id},
            )

    # -- the outbox -------------------------------------------------------------------------

    def queue(
        self,
        conn: sa.Connection,
        events: Sequence[tuple[str, str, int | None, dict, str | None]],
        now: datetime,
    ) -> int:
        """(tenant, kind, request id, details, dedupe) for every live endpoint of each tenant, in the
        caller's transaction; an event with a `dedupe` already queued for an endpoint is not queued
        again. Returns how many were queued."""
        tenants = sorted({tenant for tenant, *_ in events})
        if not tenants:
            return 0
        hooks: dict[str, list[int]] = {}
        for hook_id, tenant in conn.execute(
            sa.select(webhooks_t.c.id, webhooks_t.c.tenant).where(
                webhooks_t.c.tenant.in_(tenants), webhooks_t.c.removed_at.is_(None)
            )
        ):
            hooks.setdefault(tenant, []).append(hook_id)
        rows = [
            {
                "webhook_id": hook_id,
                "tenant": tenant,
                "event_id": str(uuid.uuid4()),
                "kind": kind,
                "request_id": request_id,
                "dedupe": dedupe,
                "details": json.dumps(details, default=str),
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for tenant, kind, request_id, details, dedupe in events
            for hook_id in hooks.get(tenant, [])
        ]
        deduped = [r for r in rows if r["dedupe"] is not None]
        if deduped:
            seen = set(
                conn.execute(
                    sa.select(webhook_events_t.c.webhook_id, webhook_events_t.c.dedupe).where(
                        webhook_events_t.c.dedupe.in_([r["dedupe"] for r in deduped])
                    )
                ).tuples()
            )
            rows = [r for r in rows if (r["webhook_id"], r["dedupe"]) not in seen]
        if rows:
            conn.execute(sa.insert(webhook_events_t), rows)
        return len(rows)

    def queue_now(self, events: Sequence[tuple[str, str, int | None, dict, str | None]]) -> int:
        with self.db.engine.begin() as conn:
            return self.queue(conn, events, self.db.clock())

    def due(self, now: datetime, limit: int = 100) -> list[Queued]:
        query = (
            sa.select(webhook_events_t)
            .where(webhook_events_t.c.state == PENDING, webhook_events_t.c.next_attempt_at <= now)
            .order_by(webhook_events_t.c.id)
            .limit(limit)
        )
        with self.db.engine.connect() as conn:
            return [_queued(r) for r in conn.execute(query)]

    def events(
        self, tenant: str | None = None, webhook_id: int | None = None, state: str | None = None
    ) -> list[Queued]:
        query = sa.select(webhook_events_t).order_by(webhook_events_t.c.id)
        for column, value in (
            (webhook_events_t.c.tenant, tenant),
            (webhook_events_t.c.webhook_id, webhook_id),
            (webhook_events_t.c.state, state),
        ):
            if value is not None:
                query = query.where(column == value)
        with self.db.engine.connect() as conn:
            return [_queued(r) for r in conn.execute(query)]

    def attempted(
        self,
        event: Queued,
        body: str,
        status: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
        now: datetime,
    ) -> None:
        """One attempt's outcome: delivered (2xx), again at `next_attempt_at`, or dead (None)."""
        delivered = status is not None and 200 <= status < 300
        state = DELIVERED if delivered else (PENDING if next_attempt_at else DEAD)
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.update(webhook_events_t)
                .where(webhook_events_t.c.id == event.id)
                .values(
                    body=body,
                    state=state,
                    attempts=event.attempts + 1,
                    next_attempt_at=next_attempt_at or event.next_attempt_at,
                    last_status=status,
                    last_error=error,
                    delivered_at=now if delivered else None,
                )
            )

    def replay(self, event_id: int, now: datetime) -> Queued:
        """A dead letter queued again, its attempts counted afresh (not one of a removed webhook)."""
        live = sa.select(webhooks_t.c.id).where(webhooks_t.c.removed_at.is_(None))
        with self.db.engine.begin() as conn:
            done = conn.execute(
                sa.update(webhook_events_t)
                .where(
                    webhook_events_t.c.id == event_id,
                    webhook_events_t.c.state == DEAD,
                    webhook_events_t.c.webhook_id.in_(live),
                )
                .values(state=PENDING, attempts=0, next_attempt_at=now, last_error=None)
            ).rowcount
            row = conn.execute(sa.select(webhook_events_t).where(webhook_events_t.c.id == event_id)).first()
        if not done:
            raise DsrError(f"no dead letter {event_id} to replay (or its webhook was removed)")
        return _queued(row)
