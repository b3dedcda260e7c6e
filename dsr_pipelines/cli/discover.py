"""`dsr discover`: propose where personal data lives, as a diff against the datamap."""

import difflib
from contextlib import closing
from dataclasses import asdict
from pathlib import Path

import typer

from .. import api, findings, scan
from ..datamap import Datamap, dump_datamap, load_datamap, save_datamap
from ..discovery import StoreReport
from .common import EXIT_PROBLEM, err, out, print_json, state, user_errors

app = typer.Typer(help="Find personal data in the stores and propose datamap entries.")


def _print_report(report: StoreReport) -> None:
    if report.error:
        err.print(f"[red]store {report.store} skipped:[/red] {report.error}")
        return
    for table in report.tables:
        if table.error:
            err.print(f"[yellow]{report.store}.{table.collection} skipped:[/yellow] {table.error}")
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
) -> None:
    """Sample every table, propose a category per column with its evidence, and diff the datamap.

    No sampled value is printed or stored (examples are masked). Without --apply the merged
    datamap is written next to the datamap as *.proposal.yaml (or to --out) for review.
    """
    if ctx.invoked_subcommand:
        return
    with user_errors():
        config = state.config()
        before = load_datamap(config.datamap_path) if config.datamap_path.is_file() else Datamap()
        result = scan.discover(config, store or (), sample, state.actor)
        target = config.datamap_path if apply else (out_file or _proposal_path(config.datamap_path))
        save_datamap(result.proposal.datamap, target)
    changes = result.proposal.changes
    if as_json:
        print_json(
            {
                "stores": [asdict(r) for r in result.reports],
                "changes": [asdict(c) for c in changes],
                "written": str(target),
                "applied": apply,
            }
        )
    else:
        for report in result.reports:
            _print_report(report)
        out.print(f"\n{len(changes)} change(s) against {config.datamap_path.name}:")
        for change in changes:
            out.print(f"  {change}")
        diff = difflib.unified_diff(
            dump_datamap(before).splitlines(),
            dump_datamap(result.proposal.datamap).splitlines(),
            "datamap (current)",
            "datamap (proposed)",
            lineterm="",
        )
        for line in diff:
            out.print(line, markup=False)
        if apply:
            out.print(f"applied to {target}")
        else:
            out.print(f"proposal written to {target}; review it, then run again with --apply")
    if any(c.kind == "skipped" for c in changes):
        raise typer.Exit(EXIT_PROBLEM)


def _proposal_path(datamap: Path) -> Path:
    return datamap.with_name(f"{datamap.stem}.proposal{datamap.suffix or '.yaml'}")


@app.command("findings")
def list_findings(
    store: str = typer.Option(None, "--store", help="only this store"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What the latest discovery run of each store found that the datamap lacks."""
    with user_errors():
        config = state.config()
        with closing(api.open_requests(config)) as rs:
            rows = findings.latest(rs, store)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    if not rows:
        out.print("no unreviewed findings")
        return
    for r in rows:
        out.print(f"{r.at[:19]}  {r.store:12} {r.kind:14} {r.path}: {r.detail}")
