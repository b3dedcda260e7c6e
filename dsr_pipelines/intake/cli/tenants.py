"""`dsr tenant`: terminate a controller, purge its data, expire its archives."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.table import Table

from .common import EXIT_PROBLEM, err, out, parse_date, print_json, project

app = typer.Typer(no_args_is_help=True, help="Tenants (controllers): termination and purge.")


@app.command("terminate")
def terminate(
    tenant: str = typer.Argument(..., help="a tenant declared under tenants: in dsr.yaml"),
    effective: str = typer.Option(..., "--effective", help="the date the contract ends"),
    grace: str = typer.Option(None, "--grace", help="ISO-8601 period after it before the purge (P30D)"),
) -> None:
    """Record a termination; the purge is due at the effective date plus the grace period."""
    with project() as dsr:
        done = dsr.terminate(tenant, parse_date(effective, "--effective"), grace)
    err.print(f"tenant {tenant} terminated; purge due {done.due_at:%Y-%m-%d}")


@app.command("purge")
def purge(
    tenant: str = typer.Argument(..., help="a tenant declared under tenants: in dsr.yaml"),
    dry_run: bool = typer.Option(False, "--dry-run", help="say what the purge will do; change nothing"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Remove a terminated tenant's data from every store; archive what the law requires kept."""
    with project() as dsr:
        report = dsr.purge(tenant, dry_run)
    rows = [asdict(t) for t in report.targets]
    if json_out:
        print_json({"tenant": tenant, "dry_run": dry_run, "complete": report.complete, "collections": rows})
    else:
        table = Table("store", "collection", "action", "would go" if dry_run else "removed", "left", "note")
        for t in report.targets:
            note = t.error or (f"until {t.archived_until[:10]}: {t.legal_basis}" if t.archived_until else "")
            if t.action == "unseparable":
                note = "no tenant field here or through its references: not purged"
            elif t.held_by:
                note = f"{t.kept or 'all'} kept for legal hold {', '.join(map(str, t.held_by))}"
            left = "" if t.residual is None else str(t.residual)
            table.add_row(t.store, t.collection, t.action, str(t.records), left, note)
        out.print(table)
    if not dry_run and not report.complete:
        raise typer.Exit(EXIT_PROBLEM)


@app.command("archive-sweep")
def archive_sweep(
    as_of: str = typer.Option(None, "--as-of", help="DATE (2026-12-31): expire as of then; default now"),
) -> None:
    """Delete archived records whose legal obligation has ended."""
    with project() as dsr:
        n = dsr.expire_archives(parse_date(as_of, "--as-of"))
    err.print(f"{n} archive files past their obligation deleted")
