"""Pages a person reads, rendered on the server: plain HTML and one stylesheet, no script, nothing
fetched from elsewhere. Every value is escaped."""

from __future__ import annotations

from html import escape

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #1b1f24; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #d0d7de; }
th { background: #f6f8fa; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.overdue { color: #b42318; font-weight: 600; } .muted { color: #57606a; }
.bar { fill: #0969da; } .done { fill: #1a7f37; } svg text { font-size: 11px; fill: #57606a; }
"""


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def table(headers: list[str], rows: list[list[object]], classes: list[str] | None = None) -> str:
    """`rows` of values (escaped here); `classes`: one CSS class per row, or None."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{escape(classes[i])}"' if classes and classes[i] else ""
        cells = "".join(
            f'<td class="n">{v}</td>'
            if isinstance(v, int)
            else f"<td>{escape('' if v is None else str(v))}</td>"
            for v in row
        )
        body.append(f"<tr{css}>{cells}</tr>")
    if not rows:
        body.append(f'<tr><td colspan="{len(headers)}" class="muted">none</td></tr>')
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


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
