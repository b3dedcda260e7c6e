"""Top-level request verbs: submit, verify, reject, extend, run, status, list, export."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from ...core.errors import DsrError
from ...core.lifecycle import REQUEST_TYPES, STATES
from .common import EXIT_PROBLEM, err, fail, out, parse_date, print_json, project

if TYPE_CHECKING:
    from ..api import Dsr


def submit(
    tenant: str = typer.Option(None, "--tenant", help="the controller the request belongs to"),
    type_: str = typer.Option(None, "--type", help=f"one of: {', '.join(REQUEST_TYPES)}"),
    identity: list[str] = typer.Option(
        None, "--identity", help="KIND=VALUE, e.g. email=ann@example.com; repeatable"
    ),
    verified: bool = typer.Option(
        False, "--verified", help="the controller has already verified the identity"
    ),
    from_file: Path = typer.Option(
        None,
        "--from",
        help='NDJSON file, one request a line: {"tenant": ..., "type": ..., "identities": '
        '["email=..."], "verified": false}; all are submitted or none',
    ),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Record new requests; prints each id alone on a line of stdout."""
    one = tenant is not None or type_ is not None or identity or verified
    if (from_file is not None) == bool(one):
        fail("give --tenant, --type and --identity for one request, or --from FILE for many")
    if from_file is None and (tenant is None or type_ is None or not identity):
        fail("a request needs --tenant, --type and at least one --identity")
    with project() as dsr:
        if from_file is not None:
            records = dsr.submit_file(from_file)
        else:
            records = [dsr.submit(tenant, type_, identity, verified)]
    if from_file is not None:
        err.print(f"{len(records)} requests submitted")
    if json_out:
        receipts = [
            {
                "id": r.id,
                "state": r.state,
                "tenant": r.tenant,
                "type": r.type,
                "due_at": r.due_at.isoformat(),
            }
            for r in records
        ]
        print_json(receipts if from_file is not None else receipts[0])
    else:
        typer.echo("\n".join(str(r.id) for r in records))


def verify(request_id: int = typer.Argument(..., help="the request's id (as dsr submit printed it)")) -> None:
    """Mark a received request's identity as verified; only verified requests run."""
    with project() as dsr:
        dsr.verify(request_id)
    err.print(f"request {request_id} verified")


def reject(
    request_id: int = typer.Argument(..., help="the request's id (as dsr submit printed it)"),
    reason: str = typer.Option(..., "--reason", help="why, for the controller (kept with the request)"),
) -> None:
    """Refuse a request (identity not verifiable, manifestly unfounded, ...)."""
    with project() as dsr:
        dsr.reject(request_id, reason)
    err.print(f"request {request_id} rejected")


def extend(
    request_id: int = typer.Argument(..., help="the request's id (as dsr submit printed it)"),
    by: str = typer.Option("P2M", "--by", help="ISO-8601 duration added to the due date"),
    reason: str = typer.Option(..., "--reason", help="why, for the subject (kept with the request)"),
) -> None:
    """Extend a request's due date, with a reason (recorded in the ledger)."""
    with project() as dsr:
        due = dsr.extend(request_id, by, reason)
    out.print(f"request {request_id} now due {due:%Y-%m-%d}")


def run(
    request_ids: list[int] = typer.Argument(None, help="request ids to run"),
    pending: bool = typer.Option(False, "--pending", help="run every verified request"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="report what would be found and changed; change nothing"
    ),
    verbose: bool = typer.Option(False, "--verbose", help="show Dagster's event log"),
    detach: bool = typer.Option(
        False, "--detach", help="on a deployment (dagster.webserver in dsr.yaml): return once queued"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the outcome (or the dry run) as JSON"),
    override_guard: bool = typer.Option(
        False,
        "--override-guard",
        help="run the named requests without the over-deletion guard, from now on (needs --reason; audited)",
    ),
    reason: str = typer.Option(None, "--reason", help="with --override-guard: why (kept with the request)"),
) -> None:
    """Execute requests through the Dagster job. Exit 0 only when all completed.

    The job runs in this process, unless dsr.yaml names a deployment (`dagster.webserver`): then the
    run goes to its queue, and this command waits for it (or, with --detach, prints its id).

    The dry run exits 1 when it shows a request the run would refuse (the over-deletion guard, an
    unreachable store). A request the guard refused keeps the guard that refused it (a looser
    configuration does not let it through) until it is run with --override-guard --reason.
    """
    with project() as dsr:
        if reason is not None and not override_guard:
            raise DsrError("--reason goes with --override-guard")
        if override_guard and (pending or dry_run or not request_ids):
            raise DsrError("--override-guard applies to the request ids given (not --pending), in a real run")
        ids = dsr.runnable(request_ids or [], pending)
        if not ids:
            err.print("nothing to run")
            return
        if override_guard:
            dsr.override_guard(ids, reason or "")
        if detach and dry_run:
            raise DsrError("--detach queues a run; a dry run is not one")
        if dry_run:
            plan = dsr.dry_run(ids)
        else:
            outcome = dsr.run(ids, detach=True) if detach else _run_with_progress(dsr, ids, verbose)
    if detach:
        if json_out:
            print_json({"run_id": outcome.run_id, "queued": sorted(outcome.states)})
        err.print(f"run {outcome.run_id} queued for {len(ids)} request(s); dsr status follows them")
        return
    if dry_run:
        if json_out:
            print_json(
                {
                    "dry_run": True,
                    "requests": {str(r): [vars(row) for row in rows] for r, rows in plan.results.items()},
                    "refused": {str(r): why for r, why in plan.refused.items()},
                }
            )
        else:
            _render_dry_run(plan)
        if plan.refused:
            raise typer.Exit(EXIT_PROBLEM)
        return
    if json_out:
        states = {str(k): v for k, v in outcome.states.items()}
        elsewhere = {str(k): v for k, v in outcome.elsewhere.items()}
        print_json({"run_id": outcome.run_id, "states": states, "skipped": elsewhere})
    table = Table("request", "state", title=f"dagster run {outcome.run_id}")
    for request_id, request_state in outcome.states.items():
        table.add_row(str(request_id), outcome.elsewhere.get(request_id, request_state))
    err.print(table)
    if outcome.elsewhere:
        err.print(f"{len(outcome.elsewhere)} request(s) skipped: another run holds them")
    if not outcome.all_completed:
        raise typer.Exit(EXIT_PROBLEM)


def _run_with_progress(dsr: Dsr, ids: list[int], verbose: bool):
    """Run, while a thread counts the stores each request has finished."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # only a run shows it

    from ..api import Dsr

    stores = len(dsr.ws.config.settings.stores)
    done = threading.Event()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task(f"running {len(ids)} request(s)", total=len(ids) * max(stores, 1))

        def watch() -> None:
            with Dsr(dsr.config_path, dsr.actor) as watcher:  # its own connections, in its own thread
                while not done.wait(0.3):
                    finished = watcher.progress(ids)
                    progress.update(
                        task,
                        completed=finished,
                        description=f"running {len(ids)} request(s): {finished} store results",
                    )

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        try:
            return dsr.run(ids, log_level="INFO" if verbose else "WARNING")
        finally:
            done.set()
            thread.join()


def _render_dry_run(plan) -> None:
    table = Table(
        "request",
        "store",
        "collection",
        "found",
        "would delete",
        "would mask",
        "retained",
        "note",
        title="dry run: nothing was changed",
    )
    for request_id, rows in plan.results.items():
        for row in rows:
            table.add_row(
                str(request_id),
                row.store,
                row.collection,
                str(row.found),
                str(row.deleted),
                str(row.masked),
                str(row.retained),
                row.reason or "",
            )
    out.print(table)
    for request_id, why in sorted(plan.refused.items()):
        out.print(f"[red]request {request_id} would be refused:[/red] {escape(why)}")


def status(
    request_id: int = typer.Argument(..., help="the request's id (as dsr submit printed it)"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """State, dates and per-store/collection counts of one request."""
    with project() as dsr:
        found = dsr.status(request_id)
    record, results, skipped, history = found.record, found.results, found.skipped, found.history
    restriction, deferring, backups = found.restriction, found.holds, found.backups
    data = {
        "id": record.id,
        "state": record.state,
        "type": record.type,
        "tenant": record.tenant,
        "received_at": record.received_at.isoformat(),
        "due_at": record.due_at.isoformat(),
        "identities_held": record.identities_held,
        "subject_refs": list(record.subject_refs),
        "error": record.error,
        "probe": record.probe,
        "stores": found.stores,
        "results": [vars(r) for r in results],
        "skipped": [vars(s) for s in skipped],
        "restriction": restriction,
        "holds": deferring,
        "backups": backups,
        "notes": [n | {"at": n["at"].isoformat()} for n in found.notes],
        "history": [
            {
                "at": h["at"].isoformat(),
                "actor": h["actor"],
                "from": h["from_state"],
                "to": h["to_state"],
                "note": h["note"],
            }
            for h in history
        ],
    }
    if json_out:
        print_json(data)
        return
    out.print(f"request {record.id}: [bold]{record.state}[/bold] {record.type} for tenant {record.tenant}")
    out.print(f"received {record.received_at:%Y-%m-%d %H:%M} UTC, due {record.due_at:%Y-%m-%d}")
    if record.error:
        out.print(f"note: {record.error}", markup=False)
    if record.probe is not None:
        verdict = "nothing left" if record.probe["residual"] == 0 else f"{record.probe['residual']} rows left"
        out.print(f"verification probe: {verdict}")
    if results:
        from ...service.requests import COUNTS

        shown = [k for k in COUNTS if k == "found" or any(getattr(r, k) for r in results)]  # what happened
        table = Table("store", "collection", *shown, "why")
        for r in results:
            table.add_row(r.store, r.collection, *(str(getattr(r, k)) for k in shown), r.reason or "")
        out.print(table)
    for where, r in sorted(restriction.items()):
        lifted = f" by request {r['lifted_by']} on {r['lifted_at'][:10]}" if r["state"] == "lifted" else ""
        out.print(
            f"restriction {r['restriction']} of {r['records']} records in {where}: {r['state']}{lifted}"
        )
    if deferring:
        out.print(f"deferred by {', '.join(deferring)} (runs again when released)")
    if backups:
        left = sum(1 for b in backups["backups"] if b["gone_at"] is None)
        out.print(
            f"backups: {backups['state']} ({left} of {len(backups['backups'])} still hold the erased data)"
        )
    for n in data["notes"]:
        out.print(f"{n['kind']} ({n['at'][:10]}, {n['actor']}): {n['text'] or '(erased)'}", markup=False)
    if skipped:
        out.print("skipped (run again once they are readable):")
        for s in skipped:
            out.print(f"  {s.store}.{s.collection}: {s.item}: {s.reason}", markup=False)
    for h in data["history"]:
        out.print(
            f"  {h['at']}  {h['actor']}: {h['from'] or '-'} -> {h['to']}"
            + (f" ({h['note']})" if h["note"] else "")
        )


def list_requests(
    state_filter: str = typer.Option(
        None, "--state", help=f"only requests in this state: {', '.join(STATES)}"
    ),
    tenant: str = typer.Option(None, "--tenant", help="only this tenant's requests"),
    stale: bool = typer.Option(
        False,
        "--stale",
        help="requests a run left running and no longer holds (dsr run --pending resumes them)",
    ),
    overdue: bool = typer.Option(False, "--overdue", help="unfinished requests past their due date"),
    due_before: str = typer.Option(
        None, "--due-before", help="DATE (2026-12-31): unfinished requests due before it"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the list as JSON"),
) -> None:
    """List requests, optionally by state, tenant or due date."""
    with project() as dsr:
        before = parse_date(due_before, "--due-before")
        records = dsr.list_requests(state_filter, tenant, stale, overdue, before)
    rows = [
        {"id": r.id, "state": r.state, "type": r.type, "tenant": r.tenant, "due_at": r.due_at.isoformat()}
        for r in records
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("id", "state", "type", "tenant", "due")
    for r in rows:
        table.add_row(str(r["id"]), r["state"], r["type"], r["tenant"], r["due_at"][:10])
    out.print(table)


def export(
    request_id: int = typer.Argument(..., help="the request's id (as dsr submit printed it)"),
    out_dir: Path = typer.Option(..., "--out", help="a new or empty directory for the package"),
) -> None:
    """Write the access package (JSON + Parquet per collection, manifest.json) to DIR."""
    with project() as dsr:
        manifest = dsr.export(request_id, out_dir)
    records = sum(f["records"] for f in manifest["files"] if f["format"] == "json")
    out.print(f"wrote {len(manifest['files'])} files ({records} records) and manifest.json to {out_dir}")


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
    app.command("verify")(verify)
    app.command("reject")(reject)
    app.command("extend")(extend)
    app.command("run")(run)
    app.command("status")(status)
    app.command("list")(list_requests)
    app.command("export")(export)
