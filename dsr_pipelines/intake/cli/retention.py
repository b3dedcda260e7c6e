"""`dsr sweep` (retention rules) and `dsr hold` (legal holds)."""

from __future__ import annotations

import typer
from rich.table import Table

from .common import EXIT_PROBLEM, err, out, parse_date, print_json, project

sweep_app = typer.Typer(
    no_args_is_help=False,
    help="Apply the retention rules of retention_rules.yaml.",
    invoke_without_command=True,
)
hold_app = typer.Typer(no_args_is_help=True, help="Legal holds: data kept whatever a rule or request says.")


@sweep_app.callback()
def sweep(
    ctx: typer.Context,
    rule: str = typer.Option(None, "--rule", help="apply only this rule"),
    dry_run: bool = typer.Option(False, "--dry-run", help="count what would go; change nothing"),
    as_of: str = typer.Option(None, "--as-of", help="sweep as if on this date (default: now)"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Apply every rule (or one); the dry run lists per rule what would go and its age range."""
    if ctx.invoked_subcommand is not None:
        return
    with project() as dsr:
        report = dsr.sweep(parse_date(as_of, "--as-of"), rule, dry_run)
    _show(report, json_out)
    if report.state != "completed":
        raise typer.Exit(EXIT_PROBLEM)


def _rows(report) -> list[dict]:
    return [
        {
            "rule": r.rule,
            "target": r.target,
            "action": r.action,
            "expired": r.count.expired,
            "kept": r.count.kept,
            "changed": r.count.changed,
            "oldest": r.count.oldest.isoformat() if r.count.oldest else None,
            "newest": r.count.newest.isoformat() if r.count.newest else None,
            "batches": r.count.batches,
            "longest_batch_s": round(r.count.longest_batch, 3),
            "partitions_dropped": r.count.partitions_dropped,
            "held_by": list(r.held_by),
            "error": r.error,
            "note": r.note,
        }
        for r in report.results
    ]


def _show(report, json_out: bool) -> None:
    rows = _rows(report)
    if json_out:
        print_json(
            {
                "sweep": report.sweep_id,
                "as_of": report.as_of.isoformat(),
                "dry_run": report.dry_run,
                "state": report.state,
                "results": rows,
                "archives_expired": report.archives_expired,
            }
        )
        return
    verb = "would go" if report.dry_run else "changed"
    out.print(
        f"sweep {report.sweep_id} as of {report.as_of:%Y-%m-%d}{' (dry run)' if report.dry_run else ''}"
    )
    table = Table("rule", "target", "action", "expired", "kept", verb, "oldest", "newest", "note")
    for r in rows:
        would = r["expired"] - r["kept"] if report.dry_run else r["changed"]
        held = f"held by legal hold {', '.join(map(str, r['held_by']))}" if r["held_by"] else ""
        note = r["error"] or "; ".join(n for n in (held, r["note"]) if n)
        table.add_row(
            r["rule"],
            r["target"],
            r["action"],
            str(r["expired"]),
            str(r["kept"]),
            str(would),
            (r["oldest"] or "-")[:19],
            (r["newest"] or "-")[:19],
            note,
        )
    out.print(table)
    if report.archives_expired:
        out.print(f"{report.archives_expired} archive files past their obligation deleted")


@sweep_app.command("history")
def sweep_history(
    limit: int = typer.Option(20, "--limit", help="how many sweeps, newest first"),
    dry_runs: bool = typer.Option(False, "--dry-runs", help="include dry runs"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """The latest sweeps with their results per rule, newest first."""
    with project() as dsr:
        sweeps = dsr.sweep_history(limit, dry_runs)
    if json_out:
        print_json(sweeps)
        return
    table = Table(
        "sweep", "as of", "state", "actor", "rule", "target", "expired", "kept", "changed", "longest s"
    )
    for s in sweeps:
        for r in s["results"] or [{}]:
            table.add_row(
                str(s["id"]),
                f"{s['as_of']:%Y-%m-%d}",
                s["state"] + (" (dry)" if s["dry_run"] else ""),
                s["actor"],
                r.get("rule", "-"),
                r.get("target", "-"),
                str(r.get("expired", "")),
                str(r.get("kept", "")),
                str(r.get("changed", "")),
                str(r.get("longest_batch", "")),
            )
    out.print(table)


@sweep_app.command("lifecycle")
def sweep_lifecycle(
    apply: bool = typer.Option(False, "--apply", help="write the dsr- rules into the buckets"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Compare each bucket's lifecycle with the rules marked `lifecycle: true` (or make it match)."""
    with project() as dsr:
        states = dsr.bucket_lifecycle(apply)
    rows = [vars(s) for s in states]
    if json_out:
        print_json(rows)
    else:
        table = Table("store", "lifecycle rule", "wanted", "in the bucket", "state")
        for s in states:
            table.add_row(s.store, s.rule_id, _expiry(s.wanted), _expiry(s.found), s.state)
        out.print(table)
    if any(s.state != "matches" for s in states):
        raise typer.Exit(EXIT_PROBLEM)


def _expiry(value: tuple | None) -> str:
    return "-" if value is None else f"{value[0] or '(whole bucket)'} after {value[1]} days"


@sweep_app.command("check")
def sweep_check() -> None:
    """Validate retention_rules.yaml against dsr.yaml and the datamap, and say what each rule's sweep
    does to the rows that reference the rows it removes."""
    with project() as dsr:
        found = dsr.rule_problems()
        effects = [] if found else dsr.rule_dependents()
    for problem in found:
        out.print(problem, markup=False)
    if found:
        raise typer.Exit(EXIT_PROBLEM)
    for effect in effects:
        out.print(effect, markup=False)
    err.print("retention rules: no problems")


@hold_app.command("add")
def hold_add(
    tenant: str = typer.Option(..., "--tenant", help="the tenant whose data is held"),
    identity: str = typer.Option(None, "--identity", help="KIND=VALUE: hold one subject's data"),
    store: str = typer.Option(None, "--store", help="with --collection: hold a collection"),
    collection: str = typer.Option(None, "--collection", help="with --store: the collection to hold"),
    reason: str = typer.Option(..., "--reason", help="why (case number, order); kept with the hold"),
    until: str = typer.Option(None, "--until", help="the hold ends by itself on this date"),
) -> None:
    """Place a legal hold; prints its id."""
    with project() as dsr:
        hold_id = dsr.add_hold(tenant, reason, identity, store, collection, parse_date(until, "--until"))
    typer.echo(hold_id)


@hold_app.command("list")
def hold_list(
    tenant: str = typer.Option(None, "--tenant", help="only this tenant's holds"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Every hold, active or released."""
    with project() as dsr:
        holds = dsr.holds(tenant)
    rows = [
        {
            "id": h.id,
            "tenant": h.tenant,
            "scope": h.scope,
            "reason": h.reason,
            "until": h.until.isoformat() if h.until else None,
            "state": hold_state,
            "created": f"{h.created_at.isoformat()} by {h.created_by}",
            "released": f"{h.released_at.isoformat()} by {h.released_by}" if h.released_at else None,
        }
        for h, hold_state in holds
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("id", "tenant", "scope", "state", "until", "reason", "created")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["tenant"],
            r["scope"],
            r["state"],
            (r["until"] or "-")[:10],
            r["reason"],
            r["created"],
        )
    out.print(table)


@hold_app.command("release")
def hold_release(
    hold_id: int = typer.Argument(..., help="the hold's id (as dsr hold add printed it)"),
) -> None:
    """Release a hold: what it deferred runs again (sensor or `dsr run`); the next sweep takes the rest."""
    with project() as dsr:
        hold = dsr.release_hold(hold_id)
    err.print(f"{hold.name} released")
