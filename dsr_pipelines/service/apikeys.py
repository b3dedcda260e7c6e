"""API keys for the controllers' HTTP API: created by the operator, shown once, checked on every call.

A key reads `dsr_<id>.<secret>`: the id finds the record, the secret (256 random bits) is compared
by its SHA-256, the only form kept. Every key belongs to exactly one tenant, whose requests are the
only ones it reaches, or to the operator (no tenant). Rotation makes a new key with the same tenant
and scopes and lets the old one live on for an overlap, so a controller can switch without a gap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta

from ..core.durations import parse_duration
from ..core.errors import AccessDenied, DsrError
from ..state.apikeys import ApiKeyRecord
from .workspace import Workspace

CONTROLLER_SCOPES = ("requests:read", "requests:write", "holds:read", "holds:write")
OPERATOR_SCOPES = ("operator:read",)
PREFIX = "dsr_"
DEFAULT_OVERLAP = "P7D"  # how long a rotated key keeps working beside its successor


@dataclass(frozen=True)
class Principal:
    """Who a call comes from: a key of one tenant (or the operator's), with its scopes."""

    key_id: str
    tenant: str | None
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return f"api:{self.key_id}"

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise AccessDenied(f"this key lacks the scope {scope}")


@dataclass(frozen=True)
class NewKey:
    record: ApiKeyRecord
    token: str  # shown once, never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _scopes(tenant: str | None, scopes: str | None) -> frozenset[str]:
    allowed = CONTROLLER_SCOPES if tenant is not None else OPERATOR_SCOPES
    if scopes is None or not scopes.strip():
        return frozenset(allowed)
    chosen = frozenset(s.strip() for s in scopes.split(",") if s.strip())
    unknown = sorted(chosen - set(allowed))
    if unknown:
        whose = f"a key of tenant {tenant}" if tenant else "an operator's key"
        raise DsrError(f"unknown scope {', '.join(unknown)} for {whose} (scopes: {', '.join(allowed)})")
    return chosen


def create(ws: Workspace, tenant: str | None, scopes: str | None, expires: str | None, actor: str) -> NewKey:
    """A new key for `tenant` (None: the operator), with `scopes` (comma-separated; all by default)
    and an optional lifetime (`P90D`)."""
    if tenant is not None:
        tenant = ws.config.check_tenant(tenant)
    now = ws.db.clock()
    record = ApiKeyRecord(
        id=secrets.token_hex(6),
        tenant=tenant,
        scopes=_scopes(tenant, scopes),
        secret_hash="",
        created_at=now,
        created_by=actor,
        expires_at=parse_duration(expires, "--expires").add_to(now) if expires else None,
        revoked_at=None,
        replaced_by=None,
    )
    return _store(ws, record, None)


def _store(ws: Workspace, record: ApiKeyRecord, replacing) -> NewKey:
    secret = secrets.token_urlsafe(32)
    record = ApiKeyRecord(**{**record.__dict__, "secret_hash": _hash(secret)})
    ws.db.api_keys.add(record, replacing)
    return NewKey(record, f"{PREFIX}{record.id}.{secret}")


def rotate(ws: Workspace, key_id: str, overlap: str | None, actor: str) -> NewKey:
    """A successor with the same tenant, scopes and lifetime; the old key stops after `overlap`
    (seven days by default), or sooner when it expires sooner."""
    old = ws.db.api_keys.get(key_id)
    now = ws.db.clock()
    if old is None or not old.valid_at(now):
        raise DsrError(f"no valid API key {key_id} to rotate")
    until = parse_duration(overlap or DEFAULT_OVERLAP, "--overlap").add_to(now)
    if old.expires_at is not None:
        until = min(until, old.expires_at)
    lifetime = old.expires_at - old.created_at if old.expires_at else None
    successor = ApiKeyRecord(
        id=secrets.token_hex(6),
        tenant=old.tenant,
        scopes=old.scopes,
        secret_hash="",
        created_at=now,
        created_by=actor,
        expires_at=now + lifetime if lifetime else None,
        revoked_at=None,
        replaced_by=None,
    )
    return _store(ws, successor, (old.id, until))


def revoke(ws: Workspace, key_id: str, actor: str) -> None:
    if not ws.db.api_keys.revoke(key_id, actor):
        raise DsrError(f"no API key {key_id} to revoke (unknown, or revoked already)")


def list_keys(ws: Workspace, tenant: str | None = None) -> list[ApiKeyRecord]:
    return ws.db.api_keys.list(tenant)


def authenticate(ws: Workspace, token: str | None) -> Principal:
    """The key's principal; AccessDenied for a missing, malformed, unknown, expired or revoked key
    (one message for all: a caller learns nothing about which keys exist)."""
    denied = AccessDenied("a valid API key is required (Authorization: Bearer dsr_...)")
    if not token or not token.startswith(PREFIX) or "." not in token:
        raise denied
    key_id, _, secret = token[len(PREFIX) :].partition(".")
    record = ws.db.api_keys.get(key_id) if key_id.isalnum() and len(key_id) <= 24 else None
    if record is None or not hmac.compare_digest(record.secret_hash, _hash(secret)):
        raise denied
    if not record.valid_at(ws.db.clock()):
        raise denied
    return Principal(record.id, record.tenant, record.scopes)


# -- the operator console: a browser has no bearer key to send -----------------------------------

TICKET_MINUTES = 5  # a link `dsr console` prints works this long
SESSION_HOURS = 8  # the cookie the link gives


def _signed(ws: Workspace, label: str, lifetime: timedelta) -> str:
    expires = int((ws.db.clock() + lifetime).replace(tzinfo=UTC).timestamp())
    payload = f"{expires}.{secrets.token_hex(8)}"
    return f"{payload}.{ws.db.keys.keyed_ref(label, payload.encode())}"


def _valid(ws: Workspace, label: str, token: str | None) -> bool:
    parts = (token or "").split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return False
    expected = ws.db.keys.keyed_ref(label, f"{parts[0]}.{parts[1]}".encode())
    now = ws.db.clock().replace(tzinfo=UTC).timestamp()
    return hmac.compare_digest(expected, parts[2]) and now < int(parts[0])


def console_ticket(ws: Workspace, actor: str) -> str:
    """A short-lived ticket for the operator console's link (audited: who opened it, when)."""
    ws.db.ledger.record(at=ws.db.clock(), actor=actor, event="console_ticket", details={})
    return _signed(ws, "console-ticket", timedelta(minutes=TICKET_MINUTES))


def console_session(ws: Workspace, ticket: str | None) -> str:
    """A session for a valid ticket (the console's cookie); AccessDenied otherwise."""
    if not _valid(ws, "console-ticket", ticket):
        raise AccessDenied("this console link is not valid (or expired): run dsr console for a new one")
    return _signed(ws, "console-session", timedelta(hours=SESSION_HOURS))


def console_allowed(ws: Workspace, session: str | None) -> bool:
    return _valid(ws, "console-session", session)
