"""`dsr audit`: check and read the hash-chained ledger."""

import typer

from ..api import open_requests
from .common import EXIT_PROBLEM, err, out, print_json, state, user_errors

app = typer.Typer(no_args_is_help=True, help="The audit ledger.")


@app.command("verify")
def verify(json_out: bool = typer.Option(False, "--json")) -> None:
    """Recompute the hash chain; exit 1 naming the first broken link."""
    with user_errors():
        rs = open_requests(state.config())
        verdict = rs.ledger.verify()
        rs.close()
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
    with user_errors():
        rs = open_requests(state.config())
        events = rs.ledger.events(request_id)
        rs.close()
    print_json(events)
