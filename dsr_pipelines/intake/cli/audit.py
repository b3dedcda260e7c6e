"""`dsr audit`: verify the keyed ledger (against a checkpoint), take checkpoints, read events."""

from pathlib import Path

import typer

from .common import EXIT_PROBLEM, err, out, print_json, project

app = typer.Typer(no_args_is_help=True, help="The audit ledger.")


@app.command("verify")
def verify(
    checkpoint: Path = typer.Option(
        None, "--checkpoint", help="a checkpoint file: prove nothing before it changed or was cut off"
    ),
    stored: bool = typer.Option(False, "--stored", help="check against the newest checkpoint in the store"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Recompute the keyed chain; exit 1 naming the first broken link."""
    from ...service.audit import read_checkpoint

    with project() as dsr:
        anchor = read_checkpoint(checkpoint) if checkpoint else (dsr.stored_checkpoint() if stored else None)
        verdict = dsr.verify_ledger(anchor)
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
        anchored = f", checkpoint at event {anchor.seq} holds" if anchor else ""
        out.print(f"ledger intact: {verdict.events} events{anchored}")
    else:
        err.print(f"[red]ledger broken:[/red] {verdict.reason}")
    if not verdict.ok:
        raise typer.Exit(EXIT_PROBLEM)


@app.command("checkpoint")
def checkpoint(out_file: Path = typer.Option(None, "--out", help="also write it to this file")) -> None:
    """Print the ledger's head (sequence number and MAC) to keep outside the database; written to
    audit.checkpoint_store too when configured (locked where the bucket has object lock)."""
    with project() as dsr:
        taken = dsr.checkpoint(out_file)
    typer.echo(taken.checkpoint.as_json())
    for where in taken.written:
        err.print(f"written to {where}" + (" (locked)" if taken.locked and ":" in where else ""))


@app.command("show")
def show(request_id: int = typer.Option(None, "--request", help="only this request's events")) -> None:
    """Print ledger events (subjects appear as HMAC references only)."""
    with project() as dsr:
        events = dsr.ledger_events(request_id)
    print_json(events)
