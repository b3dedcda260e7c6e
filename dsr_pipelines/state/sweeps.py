"""Retention sweeps as records: each sweep, and each rule's result as soon as it is known.

A sweep is recorded before it starts, so an interrupted one shows how far it got. Results hold
counts, names and dates only, and are audited (dry runs are kept for `dsr sweep history
--dry-runs` but not audited per rule). A sweep started with a `run_key` (a schedule's tick) is
done once that key's sweep completed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from connectors import ExpiryCount

from .schema import sweep_results_t, sweeps_t

if TYPE_CHECKING:
    from .db import StateDB


class Sweeps:
    def __init__(self, db: StateDB):
        self.db = db

    def completed(self, run_key: str) -> bool:
        with self.db.engine.connect() as conn:
            state = conn.execute(sa.select(sweeps_t.c.state).where(sweeps_t.c.run_key == run_key)).scalar()
        return state == "completed"

    def start(self, as_of: datetime, actor: str, rule: str | None, dry_run: bool, run_key: str | None) -> int:
        now = self.db.clock()
        with self.db.engine.begin() as conn:
            if run_key:  # a tick that failed part-way runs again under the same key
                conn.execute(sa.update(sweeps_t).where(sweeps_t.c.run_key == run_key).values(run_key=None))
            sweep_id = conn.execute(
                sa.insert(sweeps_t).values(
                    run_key=run_key,
                    as_of=as_of,
                    rule=rule,
                    dry_run=dry_run,
                    state="running",
                    actor=actor,
                    started_at=now,
                )
            ).inserted_primary_key[0]
            self.db.ledger.append(
                conn,
                at=now,
                actor=actor,
                event="sweep_dry_run" if dry_run else "sweep_started",
                details={"sweep": sweep_id, "as_of": as_of.isoformat(), "rule": rule},
            )
        return int(sweep_id)

    def record(
        self,
        sweep_id: int,
        rule: str,
        target: str,
        action: str,
        count: ExpiryCount,
        held_by: tuple[int, ...],
        error: str | None,
        *,
        actor: str,
        as_of: datetime,
        dry_run: bool,
    ) -> None:
        values = {
            "expired": count.expired,
            "kept": count.kept,
            "changed": count.changed,
            "oldest": count.oldest,
            "newest": count.newest,
            "batches": count.batches,
            "longest_batch": round(count.longest_batch, 4),
            "partitions_dropped": count.partitions_dropped,
            "held_by": json.dumps(list(held_by)) if held_by else None,
            "error": error,
        }
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.insert(sweep_results_t).values(sweep_id=sweep_id, rule=rule, target=target, **values)
            )
            if not dry_run:
                self.db.ledger.append(
                    conn,
                    at=self.db.clock(),
                    actor=actor,
                    event="sweep_rule",
                    details={
                        "sweep": sweep_id,
                        "rule": rule,
                        "target": target,
                        "action": action,
                        **values,
                        "as_of": as_of.isoformat(),
                    },
                )

    def finish(self, sweep_id: int, state: str, dry_run: bool, changed: int, actor: str) -> None:
        now = self.db.clock()
        with self.db.engine.begin() as conn:
            conn.execute(
                sa.update(sweeps_t).where(sweeps_t.c.id == sweep_id).values(state=state, finished_at=now)
            )
            if not dry_run:
                self.db.ledger.append(
                    conn,
                    at=now,
                    actor=actor,
                    event=f"sweep_{state}",
                    details={"sweep": sweep_id, "changed": changed},
                )

    def history(self, limit: int = 20, include_dry_runs: bool = False) -> list[dict]:
        """The latest sweeps, newest first, each with its results per rule and target."""
        query = sa.select(sweeps_t).order_by(sweeps_t.c.id.desc()).limit(limit)
        if not include_dry_runs:
            query = query.where(sweeps_t.c.dry_run.is_(False))
        with self.db.engine.connect() as conn:
            sweeps = [dict(r._mapping) for r in conn.execute(query)]
            for sweep in sweeps:
                rows = conn.execute(
                    sa.select(sweep_results_t)
                    .where(sweep_results_t.c.sweep_id == sweep["id"])
                    .order_by(sweep_results_t.c.rule, sweep_results_t.c.target)
                )
                sweep["results"] = [
                    {k: v for k, v in r._mapping.items() if k != "sweep_id"}
                    | {"held_by": json.loads(r.held_by or "[]")}
                    for r in rows
                ]
        return sweeps
