"""`dsr audit`: check and read the hash-chained ledger; `dsr db`: the state database's schema."""

import typer

from .common import EXIT_PROBLEM, err, out, print_json, project

app = typer.Typer(no_args_is_help=True, help="The audit ledger.")
db_app = typer.Typer(no_args_is_help=True, help="The state database (requests, ledger, holds, ...).")


@app.command("verify")
def verify(json_out: bool = typer.Option(False, "--json")) -> None:
    """Recompute the hash chain; exit 1 naming the first broken link."""
    with project() as dsr:
        verdict = dsr.verify_ledger()
    if json_out:
        print_json(
            {
                "ok": verdict.ok,
                "events": verdict.events,
                "broken_at": verdict.broken_at,
                "reason": verdict.reason,
            }
        )
    elif verdict.ok:
        out.print(f"ledger intact: {verdict.events} events")
    else:
        err.print(f"[red]ledger broken:[/red] {verdict.reason}")
    if not verdict.ok:
        raise typer.Exit(EXIT_PROBLEM)


@app.command("show")
def show(request_id: int = typer.Option(None, "--request", help="only this request's events")) -> None:
    """Print ledger events (subjects appear as HMAC references only)."""
    with project() as dsr:
        events = dsr.ledger_events(request_id)
    print_json(events)


@db_app.command("upgrade")
def upgrade() -> None:
    """Bring the state database to this release's schema, keeping every request, hold and event."""
    with project() as dsr:
        done = dsr.upgrade_database()
    if done.before == done.after:
        out.print(f"state database already at schema {done.after}")
    else:
        out.print(f"state database upgraded from {done.before or 'before migrations'} to schema {done.after}")
