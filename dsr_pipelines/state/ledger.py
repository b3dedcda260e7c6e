"""Append-only, hash-chained audit ledger.

Each event's SHA-256 covers its own fields and the previous event's hash, so editing,
removing or reordering any stored event breaks the chain from there on. Subjects appear only
as HMAC references; details hold counts and names of stores, never values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from .schema import audit_events_t as audit_events
from .schema import audit_head_t as audit_head

GENESIS = "0" * 64


def _digest(row: dict) -> str:
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
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    events: int
    broken_at: int | None = None
    reason: str = ""


class Ledger:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def append(
        self,
        conn: sa.Connection,
        *,
        at: datetime,
        actor: str,
        event: str,
        tenant: str | None = None,
        request_id: int | None = None,
        subject_refs: list[str] | tuple[str, ...] = (),
        details: dict | None = None,
    ) -> int:
        """Append one event inside the caller's transaction; returns its sequence number."""
        head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1).with_for_update()).first()
        if head is None:
            conn.execute(sa.insert(audit_head).values(id=1, seq=0, hash=GENESIS))
            seq, prev = 1, GENESIS
        else:
            seq, prev = head.seq + 1, head.hash
        row = {
            "seq": seq,
            "at": at.isoformat(),
            "actor": actor,
            "tenant": tenant,
            "request_id": request_id,
            "event": event,
            "subject_refs": json.dumps(sorted(subject_refs)),
            "details": json.dumps(details or {}, sort_keys=True, default=str),
            "prev_hash": prev,
        }
        row["hash"] = _digest(row)
        conn.execute(sa.insert(audit_events).values(row))
        conn.execute(sa.update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=row["hash"]))
        return seq

    def events(self, request_id: int | None = None) -> list[dict]:
        query = sa.select(audit_events).order_by(audit_events.c.seq)
        if request_id is not None:
            query = query.where(audit_events.c.request_id == request_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def verify(self) -> Verdict:
        """Recompute the chain; name the first event whose link or content does not hold."""
        prev, expected_seq, count = GENESIS, 1, 0
        with self.engine.connect() as conn:
            for r in conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)):
                row = dict(r._mapping)
                count += 1
                if row["seq"] != expected_seq:
                    return Verdict(False, count, expected_seq, f"event {expected_seq} is missing")
                if row["prev_hash"] != prev:
                    return Verdict(False, count, row["seq"], f"event {row['seq']}: previous-hash link broken")
                if _digest(row) != row["hash"]:
                    return Verdict(
                        False, count, row["seq"], f"event {row['seq']}: content does not match its hash"
                    )
                prev, expected_seq = row["hash"], expected_seq + 1
            head = conn.execute(sa.select(audit_head)).first()
        if head is not None and (head.seq, head.hash) != (expected_seq - 1, prev):
            return Verdict(
                False, count, head.seq, f"events after {expected_seq - 1} are missing (head is {head.seq})"
            )
        return Verdict(True, count)
