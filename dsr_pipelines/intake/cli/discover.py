"""`dsr discover`: propose where personal data lives, as a diff against the datamap."""

from dataclasses import asdict
from pathlib import Path

import typer
from rich.markup import escape

from .common import EXIT_PROBLEM, err, fail, out, print_json, project

app = typer.Typer(help="Find personal data in the stores and propose datamap entries.")


def _print_report(report) -> None:
    if report.error:
        err.print(f"[red]store {report.store} skipped:[/red] {escape(report.error)}")
        return
    for table in report.tables:
        if table.error:
            err.print(f"[yellow]{report.store}.{table.collection} skipped:[/yellow] {escape(table.error)}")
            continue
        found = [c for c in table.columns if c.category]
        out.print(
            f"[bold]{report.store}.{table.collection}[/bold]  {table.rows} rows sampled ({table.method})"
        )
        for c in found:
            evidence = [f"{c.share:.0%} of {c.values} values", *c.recognizers, *c.hints, *c.notes]
            example = f"  e.g. {c.example}" if c.example else ""
            identity = f" identity={c.identity}" if c.identity else ""
            line = f"  {c.field:24} {c.category:14} {c.confidence:.2f}{identity}"
            out.print(f"{line}  ({'; '.join(evidence)}){example}")


@app.callback(invoke_without_command=True)
def discover(
    ctx: typer.Context,
    store: list[str] = typer.Option(
        None, "--store", help="store name from dsr.yaml (repeatable; default all)"
    ),
    sample: int = typer.Option(None, "--sample", min=1, help="rows sampled per table (default 1000)"),
    out_file: Path = typer.Option(None, "--out", help="where to write the proposed datamap for review"),
    as_json: bool = typer.Option(False, "--json", help="print findings, evidence and changes as JSON"),
    apply: bool = typer.Option(False, "--apply", help="merge the proposal into the datamap"),
    html: Path = typer.Option(
        None, "--html", help="also write the findings as a self-contained HTML page for a reviewer"
    ),
) -> None:
    """Sample every table, propose a category per column with its evidence, and diff the datamap.

    No sampled value is printed or stored (examples are masked). Without --apply the merged
    datamap is written next to the datamap as *.proposal.yaml (or to --out) for review.
    """
    if ctx.invoked_subcommand:
        return
    if html and (html.is_dir() or not html.parent.is_dir()):  # before any work, not after it
        fail(f"--html {html}: needs a file in an existing directory")
    with project() as dsr:
        result = dsr.discover(store or (), sample)
        target = dsr.save_proposal(result.proposal, apply, out_file)
        datamap_name = dsr.ws.config.datamap_path.name
        page = dsr.discovery_report(result, html) if html else None
    changes = result.proposal.changes
    if as_json:
        print_json(
            {
                "stores": [asdict(r) for r in result.reports],
                "changes": [asdict(c) for c in changes],
                "written": str(target),
                "applied": apply,
                "report": str(page) if page else None,
            }
        )
    else:
        for report in result.reports:
            _print_report(report)
        out.print(f"\n{len(changes)} change(s) against {datamap_name}:")
        for change in changes:
            out.print(f"  {change}")
        for line in result.diff():
            out.print(line, markup=False)
        if page:
            out.print(f"report written to {page}")
        if apply:
            out.print(f"applied to {target}")
        else:
            out.print(f"proposal written to {target}; review it, then run again with --apply")
    if any(c.kind == "skipped" for c in changes):
        raise typer.Exit(EXIT_PROBLEM)


@app.command("changes")
def list_changes(
    store: str = typer.Option(None, "--store", help="only this store"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """What the latest discovery run of each store proposed that the datamap lacks, for review."""
    with project() as dsr:
        rows = dsr.discovery_changes(store)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    if not rows:
        out.print("no proposed change awaits review")
        return
    for r in rows:
        out.print(f"{r.at[:19]}  {r.store:12} {r.kind:14} {r.path}: {r.detail}")
