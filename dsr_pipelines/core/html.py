"""Pages a person reads: plain HTML and one stylesheet, no script, nothing fetched from elsewhere.
Every value is escaped. Used by the console and certificates (intake/http) and discovery's report."""

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
h3 { font-size: 1rem; margin: 1.4rem 0 .2rem; } code { font-size: .9em; }
.tag { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .85em;
       background: #ddf4ff; color: #0550ae; white-space: nowrap; }
.tag.none { background: #f6f8fa; color: #57606a; } .tag.change { background: #fff8c5; color: #7d4e00; }
.tag.conflict { background: #ffebe9; color: #b42318; } .tag.ok { background: #dafbe1; color: #1a7f37; }
.meter { display: inline-block; width: 4rem; height: .5rem; background: #eaeef2; border-radius: .25rem;
         margin-right: .3rem; vertical-align: middle; }
.meter > span { display: block; height: 100%; background: #0969da; border-radius: .25rem; }
.evidence { font-size: .88em; color: #424a53; max-width: 24rem; }
"""


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


class Html(str):
    """Markup built here from escaped parts: `table` puts it in a cell as it is."""


def table(headers: list[str], rows: list[list[object]], classes: list[str] | None = None) -> str:
    """`rows` of values (escaped here, but for `Html`); `classes`: one CSS class per row, or None."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{escape(classes[i])}"' if classes and classes[i] else ""
        cells = "".join(
            f'<td class="n">{v}</td>'
            if isinstance(v, int)
            else f"<td>{v}</td>"
            if isinstance(v, Html)
            else f"<td>{escape('' if v is None else str(v))}</td>"
            for v in row
        )
        body.append(f"<tr{css}>{cells}</tr>")
    if not rows:
        body.append(f'<tr><td colspan="{len(headers)}" class="muted">none</td></tr>')
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"
