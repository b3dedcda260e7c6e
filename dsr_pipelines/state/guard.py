"""The over-deletion guard's decisions about each request: when it refused one (and with which guard),
and when an operator overrode it (the reason kept beside the request, its MAC in the ledger).

A refused request keeps the stricter of the guard that refused it and the configured one, so a
looser configuration does not let it through; only an override does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..core.config import GuardConfig
from ..core.errors import RequestStateError
from .schema import guard_decisions_t, notes_t

if TYPE_CHECKING:
    from .db import StateDB


class GuardDecisions:
    def __init__(self, db: StateDB):
        self.db = db

    def refused(
        self,
        request_id: int,
        store: str,
        collection: str,
        matched: int,
        total: int,
        guard: GuardConfig,
        actor: str,
    ) -> None:
        record = self.db.requests.get(request_id)
        now = self.db.clock()
        counts = {"store": store, "collection": collection, "matched": matched, "total": total}
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.insert(guard_decisions_t).values(
                    request_id=request_id,
                    at=now,
                    actor=actor,
                    kind="refused",
                    max_share=guard.max_share,
                    min_rows=guard.min_rows,
                    **counts,
                )
            )
            guard_details = {"max_share": guard.max_share, "min_rows": guard.min_rows}
            self.db.requests.audit_in(conn, record, "guard_refused", actor, now, counts | guard_details)

    def override(self, request_ids: Sequence[int], reason: str, actor: str) -> None:
        """Let the named requests run without the guard from now on, saying why."""
        if not reason.strip():
            raise RequestStateError("--override-guard needs a --reason")
        now = self.db.clock()
        with self.db.engine.begin() as conn:
            for record in self.db.requests.get_many(request_ids):
                conn.execute(
                    sa.insert(guard_decisions_t).values(
                        request_id=record.id, at=now, actor=actor, kind="overridden"
                    )
                )
                conn.execute(
                    sa.insert(notes_t).values(
                        request_id=record.id, at=now, actor=actor, kind="guard_override", text=reason
                    )
                )
                self.db.requests.audit_in(conn, record, "guard_overridden", actor, now, {"reason": reason})

    def guards(self, request_ids: Sequence[int], configured: GuardConfig) -> dict[int, GuardConfig | None]:
        """Each request's guard: None once overridden; the stricter of the configured guard and every
        guard that refused it; else the configured one."""
        out: dict[int, GuardConfig | None] = dict.fromkeys(request_ids, configured)
        if not out:
            return out
        query = (
            sa.select(guard_decisions_t)
            .where(guard_decisions_t.c.request_id.in_(list(out)))
            .order_by(guard_decisions_t.c.seq)
        )
        with self.db.engine.connect() as conn:
            for row in conn.execute(query):
                current = out[row.request_id]
                if row.kind == "overridden" or current is None:
                    out[row.request_id] = None
                else:
                    out[row.request_id] = current.stricter(row.max_share, row.min_rows)
        return out
