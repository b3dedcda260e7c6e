"""Callbacks to controllers: their endpoints, signed deliveries retried with backoff, deadline
reminders, dead letters an operator can replay.

Every event is POSTed as JSON with `Dsr-Signature: t=<unix seconds>,v1=<hex>`, the hex being
HMAC-SHA256 under the endpoint's secret of `<t>.<body>`. A receiver recomputes it and refuses a
timestamp outside its replay window (`REPLAY_WINDOW`). Bodies carry ids, states and dates, and for
erasures and restrictions the recipients the datamap names for what was changed (GDPR Art. 19),
never an identity.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx

from ..core.errors import DsrError
from ..state.webhooks import DEAD
from ..state.webhooks import Queued as Queued
from ..state.webhooks import UnknownWebhook as UnknownWebhook
from ..state.webhooks import Webhook as Webhook
from .workspace import Workspace

SIGNATURE = "Dsr-Signature"
REPLAY_WINDOW = 300  # seconds a receiver should accept a signature's timestamp for
REMINDER_AT = 0.75  # of the response period: the deadline reminder


@dataclass(frozen=True)
class Retry:
    """When to try again: `base`, doubling each attempt up to `cap`; dead after `attempts`."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    attempts: int = 8

    def after(self, attempts_made: int) -> timedelta | None:
        if attempts_made >= self.attempts:
            return None
        return min(self.cap, self.base * 2 ** (attempts_made - 1))


@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str  # shown once


@dataclass(frozen=True)
class Delivered:
    sent: int = 0
    failed: int = 0
    dead: int = 0


def add(ws: Workspace, tenant: str, url: str, actor: str) -> NewWebhook:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DsrError("a webhook URL is http(s)://host/...")
    secret = "whsec_" + secrets.token_urlsafe(32)
    return NewWebhook(ws.db.webhooks.add(ws.config.check_tenant(tenant), url, secret, actor), secret)


def of_tenant(ws: Workspace, tenant: str, webhook_id: int) -> Webhook:
    hook = ws.db.webhooks.get(webhook_id)
    if hook.tenant != tenant or hook.removed_at is not None:
        raise UnknownWebhook(f"no webhook {webhook_id}")
    return hook


def remove(ws: Workspace, webhook_id: int, actor: str) -> None:
    ws.db.webhooks.remove(webhook_id, actor)


def list_webhooks(ws: Workspace, tenant: str | None = None) -> list[Webhook]:
    return ws.db.webhooks.list(tenant)


def deliveries(ws: Workspace, tenant: str | None = None, webhook_id: int | None = None) -> list[Queued]:
    return ws.db.webhooks.events(tenant, webhook_id)


def dead_letters(ws: Workspace) -> list[Queued]:
    return ws.db.webhooks.events(state=DEAD)


def replay(ws: Workspace, event_id: int, actor: str) -> Queued:
    """Queue a dead letter again (the operator, once the controller's endpoint is back)."""
    queued = ws.db.webhooks.replay(event_id, ws.db.clock())
    ws.db.ledger.record(
        at=ws.db.clock(),
        actor=actor,
        event="webhook_replayed",
        tenant=queued.tenant,
        details={"event": event_id},
    )
    return queued


def signature(secret: str, body: str, at: int) -> str:
    mac = hmac.new(secret.encode(), f"{at}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def verify(secret: str, body: str, header: str, now: float | None = None) -> bool:
    """What a receiver does: the signature matches and its timestamp is within the replay window."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not fields.get("t", "").isdigit() or "v1" not in fields:
        return False
    at = int(fields["t"])
    if abs((time.time() if now is None else now) - at) > REPLAY_WINDOW:
        return False
    return hmac.compare_digest(signature(secret, body, at), f"t={at},v1={fields['v1']}")


def queue_deadlines(ws: Workspace) -> int:
    """The deadline reminder (at 75% of a request's period) and the overdue escalation, each once per
    due date (an extension makes a new one)."""
    now = ws.db.clock()
    events = []
    for r in ws.db.requests.unfinished():
        details = {"due_at": r.due_at.isoformat()}
        if now > r.due_at:
            events.append(
                (r.tenant, "request.overdue", r.id, details, f"overdue:{r.id}:{r.due_at:%Y%m%d%H%M}")
            )
        elif now >= r.received_at + (r.due_at - r.received_at) * REMINDER_AT:
            events.append(
                (
                    r.tenant,
                    "request.deadline_reminder",
                    r.id,
                    details,
                    f"reminder:{r.id}:{r.due_at:%Y%m%d%H%M}",
                )
            )
    return ws.db.webhooks.queue_now(events) if events else 0


def deliver_due(ws: Workspace, client: httpx.Client, retry: Retry = Retry()) -> Delivered:
    """POST every event whose time has come; each attempt recorded (the delivery log)."""
    sent = failed = dead = 0
    now = ws.db.clock()
    for event in ws.db.webhooks.due(now):
        hook = ws.db.webhooks.get(event.webhook_id)
        body = event.body or _body(ws, event)
        status, error = _post(client, hook.url, body, ws.db.webhooks.secret(hook.id), event.event_id)
        later = None if status is not None and 200 <= status < 300 else retry.after(event.attempts + 1)
        ws.db.webhooks.attempted(event, body, status, error, now + later if later else None, ws.db.clock())
        if status is not None and 200 <= status < 300:
            sent += 1
        elif later:
            failed += 1
        else:
            dead += 1
    return Delivered(sent, failed, dead)


def _post(
    client: httpx.Client, url: str, body: str, secret: str, event_id: str
) -> tuple[int | None, str | None]:
    headers = {
        "Content-Type": "application/json",
        SIGNATURE: signature(secret, body, int(time.time())),
        "Dsr-Event-Id": event_id,
    }
    try:
        answer = client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return None, type(exc).__name__  # the kind of failure, not the URL or a response body
    return answer.status_code, None if answer.is_success else f"HTTP {answer.status_code}"


def _body(ws: Workspace, event: Queued) -> str:
    data: dict = {"request_id": event.request_id, **event.details}
    if event.request_id is not None:
        record = ws.db.requests.get(event.request_id)
        data |= {"type": record.type, "state": record.state, "due_at": record.due_at.isoformat()}
        data["external_ref"] = record.external_ref
        done = event.details.get("to") in ("completed", "partially_completed")
        if done and record.type in ("erasure", "restriction"):
            data["recipients"] = _recipients(ws, event.request_id)
    payload = {
        "id": event.event_id,
        "type": event.kind,
        "created_at": event.created_at.isoformat(),
        "tenant": event.tenant,
        "data": data,
    }
    return json.dumps(payload, sort_keys=True)


def _recipients(ws: Workspace, request_id: int) -> list[str]:
    """Whom the controller must tell of the erasure or restriction (Art. 19): the recipients the
    datamap lists for every collection where records were changed."""
    results = ws.db.results.recorded([request_id])[request_id].results
    names: set[str] = set()
    for r in results:
        if r.deleted or r.masked or r.restricted:
            spec = ws.datamap.stores.get(r.store)
            collection = spec.collections.get(r.collection) if spec else None
            names.update(collection.recipients if collection else [])
    return sorted(names)
