"""Append-only audit ledger, chained with a key: rewriting the database is not enough to forge it.

Each event's MAC (HMAC-SHA256 under the ledger key, a data key of the keyring) covers its own
fields and the previous event's MAC, so editing, removing or reordering any stored event breaks
the chain from there on, and only the holder of the project key can make a chain that verifies.
A checkpoint (the head's sequence number and MAC, kept outside the database) then proves that
nothing before it changed and that the tail was not cut off.

Subjects appear only as HMAC references; details hold kinds, counts, names and dates. Free text
(a reason, a note) stays beside the request, where it can be erased; the ledger holds its MAC.
Ledgers of releases before the keyed chain (plain SHA-256) are re-keyed by `dsr db upgrade`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..core.errors import DsrError
from .schema import audit_events_t as audit_events
from .schema import audit_head_t as audit_head

GENESIS = "0" * 64
# Details under these names are free text a person or a store wrote: the ledger keeps their MAC.
FREE_TEXT = ("note", "reason", "error")
KEYED = "hmac-sha256"
UNKEYED = "sha256"  # releases before the keyed chain


def _content(row: dict) -> bytes:
    parts = [
        str(row["seq"]),
        row["at"],
        row["actor"],
        row["tenant"] or "",
        str(row["request_id"] or ""),
        row["event"],
        row["subject_refs"],
        row["details"],
        row["prev_hash"],
    ]
    return "\x1f".join(parts).encode()


def _unkeyed(row: dict) -> str:
    return hashlib.sha256(_content(row)).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    events: int
    broken_at: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Checkpoint:
    """The head at a moment, to keep outside the database (a file, an object under object lock)."""

    seq: int
    mac: str
    at: str

    def as_json(self) -> str:
        return json.dumps({"seq": self.seq, "mac": self.mac, "at": self.at}, sort_keys=True)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        data = json.loads(text)
        return cls(int(data["seq"]), str(data["mac"]), str(data.get("at", "")))


@dataclass(frozen=True)
class Event:
    """One event to append. Free text in `details` (a note, a reason, an error) is replaced by its
    MAC: the text stays beside the request, where it can be erased; the ledger can only prove
    which text it was."""

    at: datetime
    actor: str
    event: str
    tenant: str | None = None
    request_id: int | None = None
    subject_refs: Sequence[str] = ()
    details: dict | None = None

    def row(self, seq: int, prev: str, seal: Callable[[str], str]) -> dict:
        details = dict(self.details or {})
        for name in FREE_TEXT:
            if details.get(name) is not None:
                details[f"{name}_mac"] = seal(str(details.pop(name)))
        return {
            "seq": seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "tenant": self.tenant,
            "request_id": self.request_id,
            "event": self.event,
            "subject_refs": json.dumps(sorted(self.subject_refs)),
            "details": json.dumps(details, sort_keys=True, default=str),
            "prev_hash": prev,
        }


class Ledger:
    def __init__(self, engine: sa.Engine, key: bytes):
        self.engine = engine
        self._key = key

    def _mac(self, row: dict) -> str:
        return hmac.new(self._key, _content(row), hashlib.sha256).hexdigest()

    def seal(self, text: str) -> str:
        """The MAC of a piece of free text, for an event that must not hold the text itself."""
        return hmac.new(self._key, b"free text\x1f" + text.encode(), hashlib.sha256).hexdigest()

    def append(self, conn: sa.Connection, *, at: datetime, actor: str, event: str, **fields) -> int:
        """Append one event inside the caller's transaction; returns its sequence number."""
        return self.append_many(conn, [Event(at, actor, event, **fields)])[0]

    def append_many(self, conn: sa.Connection, events: Sequence[Event]) -> list[int]:
        """Append events in order inside the caller's transaction, the chain computed in memory: one
        head lock, one insert and one head update however many (a batch's bookkeeping), each event
        still chained to the one before it. Returns their sequence numbers."""
        if not events:
            return []
        head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1).with_for_update()).first()
        if head is None:
            conn.execute(sa.insert(audit_head).values(id=1, seq=0, hash=GENESIS, scheme=KEYED))
            seq, prev = 0, GENESIS
        else:
            seq, prev = head.seq, head.hash
        rows = []
        for e in events:
            seq += 1
            row = e.row(seq, prev, self.seal)
            row["hash"] = prev = self._mac(row)
            rows.append(row)
        conn.execute(sa.insert(audit_events), rows)
        conn.execute(sa.update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=prev))
        return [row["seq"] for row in rows]

    def record(self, *, at: datetime, actor: str, event: str, **fields) -> int:
        """Append one event in a transaction of its own."""
        with self.engine.begin() as conn:
            return self.append(conn, at=at, actor=actor, event=event, **fields)

    def events(self, request_id: int | None = None) -> list[dict]:
        query = sa.select(audit_events).order_by(audit_events.c.seq)
        if request_id is not None:
            query = query.where(audit_events.c.request_id == request_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def scheme(self) -> str:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(audit_head.c.scheme)).scalar()
        return found or KEYED

    def checkpoint(self, now: datetime) -> Checkpoint:
        with self.engine.connect() as conn:
            head = conn.execute(sa.select(audit_head)).first()
        return Checkpoint(head.seq if head else 0, head.hash if head else GENESIS, now.isoformat())

    def verify(self, checkpoint: Checkpoint | None = None) -> Verdict:
        """Recompute the chain; name the first event whose link or content does not hold. With a
        checkpoint, also prove its event unchanged and the ledger not cut short of it."""
        verdict = self._walk(self._mac, checkpoint)
        if verdict.ok and checkpoint is not None and verdict.events < checkpoint.seq:
            return Verdict(
                False,
                verdict.events,
                verdict.events + 1,
                f"the ledger ends at event {verdict.events}, before the checkpoint's event {checkpoint.seq}: "
                "its tail was removed",
            )
        return verdict

    def _walk(self, mac, checkpoint: Checkpoint | None = None) -> Verdict:
        prev, expected_seq, count = GENESIS, 1, 0
        with self.engine.connect() as conn:
            for r in conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)):
                row = dict(r._mapping)
                count += 1
                if row["seq"] != expected_seq:
                    return Verdict(False, count, expected_seq, f"event {expected_seq} is missing")
                if row["prev_hash"] != prev:
                    return Verdict(False, count, row["seq"], f"event {row['seq']}: previous-hash link broken")
                if not hmac.compare_digest(mac(row), row["hash"]):
                    return Verdict(
                        False, count, row["seq"], f"event {row['seq']}: content does not match its MAC"
                    )
                if checkpoint is not None and row["seq"] == checkpoint.seq and row["hash"] != checkpoint.mac:
                    return Verdict(
                        False, count, row["seq"], f"event {row['seq']} is not the one the checkpoint recorded"
                    )
                prev, expected_seq = row["hash"], expected_seq + 1
            head = conn.execute(sa.select(audit_head)).first()
        if head is not None and (head.seq, head.hash) != (expected_seq - 1, prev):
            return Verdict(
                False, count, head.seq, f"events after {expected_seq - 1} are missing (head is {head.seq})"
            )
        return Verdict(True, count)

    def rekey(self, at: datetime, actor: str) -> int | None:
        """Re-chain an unkeyed ledger (releases before the keyed chain) under the ledger key, after
        checking its old chain; the event `ledger_keyed` records the old head. Returns how many
        events were re-keyed, None when the ledger already is keyed."""
        if self.scheme() == KEYED:
            return None
        old = self._walk(_unkeyed)
        if not old.ok:
            raise LedgerBroken(f"the unkeyed ledger is broken ({old.reason}): it was not re-keyed")
        with self.engine.begin() as conn:
            head = conn.execute(sa.select(audit_head).with_for_update()).first()
            prev = GENESIS
            for r in conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).fetchall():
                row = dict(r._mapping) | {"prev_hash": prev}
                row["hash"] = self._mac(row)
                conn.execute(
                    sa.update(audit_events)
                    .where(audit_events.c.seq == row["seq"])
                    .values(prev_hash=row["prev_hash"], hash=row["hash"])
                )
                prev = row["hash"]
            conn.execute(sa.update(audit_head).values(hash=prev, scheme=KEYED))
            self.append(
                conn,
                at=at,
                actor=actor,
                event="ledger_keyed",
                details={"events": old.events, "unkeyed_head": head.hash if head else GENESIS},
            )
        return old.events


class LedgerBroken(DsrError):
    """An old ledger whose chain does not hold: re-keying it would hide that."""
