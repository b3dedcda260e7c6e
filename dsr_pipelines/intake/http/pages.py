"""Pages a person reads, rendered on the server (the helpers and stylesheet: core/html.py)."""

from __future__ import annotations

from html import escape

from ...core.html import page, table
from ...service.overview import Overview


def erasure_certificate(data: dict) -> str:
    """An erasure's certificate as a person reads it."""
    residual = data["verification"]["rows_still_found"]
    verdict = (
        "nothing of the subject was found after the erasure"
        if residual == 0
        else f"{residual} rows still found"
    )
    backups = data["backups"]
    body = [
        f"<h1>Erasure certificate: request {data['request_id']}</h1>",
        f"<p>Tenant {escape(data['tenant'])}. Received {escape(data['received_at'][:16])} UTC, "
        f"{escape(data['state'].replace('_', ' '))} {escape(data['completed_at'][:16])} UTC. "
        f"Verification: {escape(verdict)}.</p>",
        "<h2>Erased</h2>",
        table(
            ["store", "collection", "deleted", "masked", "older versions"],
            [
                [e["store"], e["collection"], e["deleted"], e["masked"], e["older_versions"]]
                for e in data["erased"]
            ],
        ),
        "<h2>Kept, and why</h2>",
        table(
            ["store", "collection", "records", "why"],
            [[k["store"], k["collection"], k["records"], k["why"]] for k in data["kept"]],
        ),
        "<h2>Backups still holding the subject</h2>",
    ]
    if backups:
        body.append(
            f"<p>{escape(backups['state'].replace('_', ' '))} since {escape(backups['since'][:10])}.</p>"
        )
        body.append(
            table(
                ["store", "backup", "taken", "expected gone by", "gone"],
                [
                    [b["store"], b["name"], b["taken_at"][:10], b["due_by"][:10], (b["gone_at"] or "")[:10]]
                    for b in backups["backups"]
                ],
            )
        )
    else:
        body.append('<p class="muted">no backup scan has linked this erasure to a backup</p>')
    body += [
        "<h2>Ledger events</h2>",
        table(
            ["seq", "event", "at", "hash"],
            [[e["seq"], e["event"], e["at"][:19], e["hash"]] for e in data["ledger"]],
        ),
    ]
    return page(f"Erasure certificate {data['request_id']}", "".join(body))


def console(view: Overview) -> str:
    """The operator's page: open requests (overdue first, in red), what erasures wait for, failed
    and stale requests, terminations, dead callbacks, and a chart of requests per day."""
    now = view.now
    overdue = sum(1 for o in view.open if o.overdue)
    body = [
        "<h1>Data-subject requests</h1>",
        f'<p class="muted">{now:%Y-%m-%d %H:%M} UTC · {len(view.open)} open, '
        f'<span class="{"overdue" if overdue else ""}">{overdue} overdue</span>, '
        f"{len(view.failed)} failed or stale, {len(view.dead_letters)} dead callbacks</p>",
        "<h2>Requests received and completed, last 30 days</h2>",
        _chart(view.per_day),
        "<h2>Open requests</h2>",
        table(
            ["request", "tenant", "type", "state", "due", "waiting for"],
            [
                [
                    o.record.id,
                    o.record.tenant,
                    o.record.type,
                    o.record.state,
                    f"{o.record.due_at:%Y-%m-%d}" + (" (overdue)" if o.overdue else ""),
                    ", ".join(o.waiting_for),
                ]
                for o in view.open
            ],
            ["overdue" if o.overdue else "" for o in view.open],
        ),
        "<h2>Failed and stale</h2>",
        table(
            ["request", "tenant", "type", "state", "why"],
            [
                [r.id, r.tenant, r.type, r.state, r.error or "left running by a run that died"]
                for r in view.failed
            ],
        ),
        "<h2>Erasures waiting for backups to age out</h2>",
        table(
            ["holder", "request", "since"],
            [[w["holder"], w["request_id"], f"{w['since']:%Y-%m-%d}"] for w in view.ageing_out],
        ),
        "<h2>Terminated tenants</h2>",
        table(
            ["tenant", "effective", "purge due", "state", "purged"],
            [
                [
                    t.tenant,
                    f"{t.effective_at:%Y-%m-%d}",
                    f"{t.due_at:%Y-%m-%d}",
                    t.state,
                    f"{t.purged_at:%Y-%m-%d}" if t.purged_at else "",
                ]
                for t in view.terminations
            ],
            ["overdue" if t.state != "purged" and t.due_at < now else "" for t in view.terminations],
        ),
        "<h2>Dead callbacks</h2>",
        table(
            ["id", "tenant", "event", "request", "attempts", "last error"],
            [[e.id, e.tenant, e.kind, e.request_id, e.attempts, e.last_error] for e in view.dead_letters],
        ),
    ]
    return page("dsr console", "".join(body))


def _chart(days: list[tuple[str, int, int]]) -> str:
    """Bars per day, received (blue) beside completed (green), drawn as inline SVG."""
    top = max([max(r, c) for _, r, c in days] + [1])
    width, height = 900, 160
    step = width / max(len(days), 1)
    bars, labels = [], []
    for i, (day, received, completed) in enumerate(days):
        x = i * step
        for offset, value, css in ((2, received, "bar"), (step / 2, completed, "done")):
            h = (height - 20) * value / top
            bars.append(
                f'<rect class="{css}" x="{x + offset:.1f}" y="{height - 20 - h:.1f}" '
                f'width="{step / 2 - 3:.1f}" height="{h:.1f}"><title>{escape(day)}: {value}</title></rect>'
            )
        if i % 5 == 0:
            labels.append(f'<text x="{x:.1f}" y="{height - 4}">{escape(day[5:])}</text>')
    legend = f'<p class="muted">received (blue) and completed (green) a day; the most in a day: {top}</p>'
    return (
        f'{legend}<svg role="img" aria-label="requests per day" viewBox="0 0 {width} {height}" width="100%">'
        f"{''.join(bars)}{''.join(labels)}</svg>"
    )
