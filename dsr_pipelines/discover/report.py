"""Discovery's findings as one self-contained page a reviewer reads (`dsr discover --html FILE`).

Per store and collection, every sampled column: its proposed category, the confidence and the
evidence behind it, the masked example, the change proposed to the datamap and whether a person
has reviewed the field. Like the reports it is made from, it holds no sampled value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from ..core.html import Html, page, table
from ..plan.datamap.model import Datamap
from .proposal import Change
from .scoring import ColumnFinding, StoreReport, TableReport

_HEADERS = ["column", "category", "confidence", "evidence", "example (masked)", "proposed change", "reviewed"]


def _tag(text: str, kind: str = "") -> Html:
    return Html(f'<span class="tag {kind}">{escape(text)}</span>')


def _confidence(finding: ColumnFinding) -> Html:
    if not finding.category:
        return Html("")
    width = round(finding.confidence * 100)
    return Html(f'<span class="meter"><span style="width:{width}%"></span></span>{finding.confidence:.2f}')


def _evidence(finding: ColumnFinding) -> Html:
    parts = [f"{finding.share:.0%} of {finding.values} values"] if finding.category else []
    parts += [*finding.recognizers, *finding.hints, *finding.notes]
    if finding.identity:
        parts.insert(0, f"proposed identity: {finding.identity}")
    return Html("<br>".join(escape(p) for p in parts))


def _reviewed(datamap: Datamap, store: str, collection: str, column: str) -> Html:
    spec = datamap.stores.get(store, None)
    spec = spec.collections.get(collection) if spec else None
    field = spec.fields.get(column) if spec else None
    if field is None:
        return _tag("not mapped", "none")
    return _tag("reviewed", "ok") if field.reviewed or spec.reviewed else _tag("not reviewed", "change")


def _change(changes: dict[str, Change], path: str, collection_change: Change | None) -> Html:
    change = changes.get(path)
    if change is None:
        added = collection_change and collection_change.kind == "add_collection"
        return _tag("added with its collection", "change") if added else Html("")
    kind = "conflict" if change.kind in ("conflict", "gone", "needs_tenant") else "change"
    return Html(f"{_tag(change.kind.replace('_', ' '), kind)} {escape(change.detail)}")


def _collection(store: str, t: TableReport, changes: dict[str, Change], datamap: Datamap) -> list[str]:
    cpath = f"stores.{store}.collections.{t.collection}"
    head = f"<h3><code>{escape(t.collection)}</code></h3>"
    if t.error:
        return [head, f'<p class="overdue">not read: {escape(t.error)}</p>']
    personal = sum(1 for c in t.columns if c.category)
    rows, classes = [], []
    for c in sorted(t.columns, key=lambda c: (c.category is None, c.field)):
        rows.append(
            [
                Html(f"<code>{escape(c.field)}</code>"),
                _tag(c.category) if c.category else _tag("not personal", "none"),
                _confidence(c),
                Html(f'<div class="evidence">{_evidence(c)}</div>'),
                c.example or "",
                _change(changes, f"{cpath}.fields.{c.field}", changes.get(cpath) if c.category else None),
                _reviewed(datamap, store, t.collection, c.field) if c.category else "",
            ]
        )
        classes.append("" if c.category else "muted")
    summary = f"{t.rows} rows sampled ({escape(t.method)}), {personal} of {len(t.columns)} columns personal"
    return [
        head,
        f'<p class="muted">{summary}</p>',
        table(_HEADERS, rows, classes),
    ]


def render(
    reports: Sequence[StoreReport],
    changes: Sequence[Change],
    datamap: Datamap,
    generated: dt.datetime,
) -> str:
    """The page for one discovery run: `datamap` is the map as it was before the run."""
    by_path = {c.path: c for c in changes}
    columns = [c for r in reports for t in r.tables for c in t.columns]
    personal = sum(1 for c in columns if c.category)
    body = [
        "<h1>Discovery report</h1>",
        f'<p class="muted">{generated:%Y-%m-%d %H:%M} UTC · {len(reports)} store(s), '
        f"{sum(len(r.tables) for r in reports)} collections, {len(columns)} columns sampled, "
        f"{personal} personal, {len(changes)} proposed change(s) to review. "
        "Examples are masked; no sampled value is in this page.</p>",
    ]
    for report in reports:
        body.append(f"<h2>Store <code>{escape(report.store)}</code></h2>")
        if report.error:
            body.append(f'<p class="overdue">not read: {escape(report.error)}</p>')
            continue
        for t in report.tables:
            body += _collection(report.store, t, by_path, datamap)
    return page("Discovery report", "".join(body))
