"""What the operator looks at: every tenant's open requests by due date, what erasures still wait
for, failed and stale requests, terminations and their purge dates, dead callbacks, and requests
received and completed per day. Ids, states, dates and counts only: never an identity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..state.backups import AGED_OUT
from ..state.requests import RequestRecord
from ..state.terminations import Termination
from ..state.webhooks import DEAD, Queued
from .workspace import Workspace

DAYS = 30  # of the chart


@dataclass(frozen=True)
class OpenRequest:
    record: RequestRecord
    overdue: bool
    waiting_for: list[str]  # holds deferring it, backups it waits on


@dataclass(frozen=True)
class Overview:
    now: datetime
    open: list[OpenRequest]  # overdue first, then by due date
    failed: list[RequestRecord]  # failed, partially completed or stale, with the reason
    ageing_out: list[dict]  # erasures waiting for backups to age out
    terminations: list[Termination]
    dead_letters: list[Queued]
    per_day: list[tuple[str, int, int]]  # day, received, completed


def overview(ws: Workspace) -> Overview:
    db, now = ws.db, ws.db.clock()
    stale = {r.id for r in db.requests.stale()}
    waiting = [w for w in db.backups.waiting() if w["state"] != AGED_OUT]
    backups_of = {w["request_id"]: w for w in waiting if w["request_id"] is not None}
    opened = []
    for r in db.requests.unfinished():
        reasons = [h.name for h in db.holds.deferring(r.id)] if r.type == "erasure" else []
        if r.id in backups_of:
            reasons.append("backups not yet aged out")
        opened.append(OpenRequest(r, r.due_at < now, reasons))
    opened.sort(key=lambda o: (not o.overdue, o.record.due_at, o.record.id))
    failed = [
        o.record
        for o in opened
        if o.record.state in ("failed", "partially_completed") or o.record.id in stale
    ]
    since = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    counts = db.requests.per_day(since)
    days = [(since + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(DAYS)]
    return Overview(
        now=now,
        open=opened,
        failed=failed,
        ageing_out=waiting,
        terminations=db.terminations.all(),
        dead_letters=db.webhooks.events(state=DEAD),
        per_day=[(d, *counts.get(d, (0, 0))) for d in days],
    )
