"""`dsr backups`: the inventory of backups, and which erased data they still hold."""

from __future__ import annotations

import typer
from rich.table import Table

from .common import EXIT_PROBLEM, out, parse_date, print_json, project

app = typer.Typer(no_args_is_help=True, help="Backups: inventory, rotation, age-out of erased data.")


@app.command("scan")
def scan(
    as_of: str = typer.Option(None, "--as-of", help="scan as if on this date (default: now)"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """List every backup location: record new backups, confirm gone ones. Exit 1: overdue or unknown."""
    with project() as dsr:
        results = dsr.scan_backups(parse_date(as_of, "--as-of"))
    rows = [
        {
            "store": r.store,
            "state": r.state,
            "present": r.present,
            "new": r.new,
            "gone": r.gone,
            "undated": r.undated,
            "overdue": r.overdue,
            "error": r.error,
        }
        for r in results
    ]
    if json_out:
        print_json(rows)
    else:
        table = Table("store", "state", "present", "new", "gone", "overdue", "note")
        for r in rows:
            table.add_row(
                r["store"],
                r["state"],
                str(r["present"]),
                str(r["new"]),
                str(r["gone"]),
                str(len(r["overdue"])),
                r["error"] or ", ".join(r["overdue"]),
            )
        out.print(table)
    if any(r.state != "ok" for r in results):
        raise typer.Exit(EXIT_PROBLEM)


@app.command("status")
def status(json_out: bool = typer.Option(False, "--json", help="print the result as JSON")) -> None:
    """Every backup seen, the last scan of each location, and what waits for backups to age out."""
    with project() as dsr:
        found = dsr.backup_status()
    data = {"backups": found.backups, "scans": found.scans, "waiting": found.waiting}
    if json_out:
        print_json(data)
        return
    table = Table("store", "backup", "taken", "due by", "gone")
    for b in data["backups"]:
        gone = f"{b['gone_at']:%Y-%m-%d}" if b["gone_at"] else "present"
        table.add_row(b["store"], b["name"], f"{b['taken_at']:%Y-%m-%d}", f"{b['due_by']:%Y-%m-%d}", gone)
    out.print(table)
    for store, scan in sorted(data["scans"].items()):
        verdict = f"unknown ({scan['error']})" if scan["error"] else "listed"
        out.print(f"{store}: last scan {scan['at']:%Y-%m-%d %H:%M} {verdict}", markup=False)
    for w in data["waiting"]:
        out.print(f"{w['holder']}: {w['state']} since {w['since']:%Y-%m-%d}")


@app.command("replay")
def replay(
    store: str = typer.Option(..., "--store", help="the store restored from a backup"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Erase again, in a restored store, every row erased since the backup was taken (before it is used)."""
    with project() as dsr:
        done = dsr.replay(store)
    if json_out:
        print_json(done)
        return
    for collection, rows in sorted(done.items()):
        out.print(f"{store}.{collection}: {rows} rows erased again")
    if not done:
        out.print(f"{store}: no erased row was found again")
