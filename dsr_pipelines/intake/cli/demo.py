"""`dsr demo`: the whole flow on an embedded SQLite shop, no server needed."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ...core.errors import DsrError
from .common import EXIT_PROBLEM, err, out, user_errors


def demo(folder: Path = typer.Option(Path("dsr-demo"), "--dir", help="where the demo project lives")) -> None:
    """Build a small shop, submit an access and an erasure request, run them and show the evidence."""
    with user_errors():
        try:  # Faker makes the demo's people: the `demo` extra, not a runtime dependency
            from ...demo import project as demo_project
        except ModuleNotFoundError as exc:
            raise DsrError(
                f"the demo needs the demo extra ({exc.name} is missing): pip install '.[demo]'"
            ) from None
        from ..api import Dsr

        config_path, persons = demo_project.prepare(folder)
        with Dsr(config_path, actor="demo") as dsr:
            runs = len(dsr.list_requests())
            # A new pair of people on every invocation, so the demo can be run again in the same folder.
            subject = persons[(2 * runs) % len(persons)]
            access = dsr.submit(subject.tenant, "access", [f"email={subject.email}"], verified=True).id
            erasure = dsr.submit(
                subject.tenant, "erasure", [f"email={subject.email}", f"phone={subject.phone}"], verified=True
            ).id
            err.print(
                f"submitted access request {access} and erasure request {erasure} for one customer of "
                f"tenant {subject.tenant}"
            )
            first = dsr.run([access])
            # The package first: once the erasure completes, the subject's earlier requests forget them.
            package = folder / "exports" / f"request-{access}"
            manifest = dsr.export(access, package)
            second = dsr.run([erasure])
            plan = dsr.sweep(dry_run=True)  # what retention would remove today
            found = dsr.status(access).results
            erased_status = dsr.status(erasure)
            verdict = dsr.verify_ledger()
    erased, probe = erased_status.results, erased_status.record.probe

    table = Table("store.collection", "found (access)", "deleted", "masked", "retained", "why", title="demo")
    by_collection = {(r.store, r.collection): r for r in erased}
    for r in found:
        e = by_collection.get((r.store, r.collection))
        table.add_row(
            f"{r.store}.{r.collection}",
            str(r.found),
            *(str(getattr(e, k, 0)) for k in ("deleted", "masked", "retained")),
            (e.reason if e else "") or "",
        )
    out.print(table)
    out.print(
        f"access request {access}: {first.states[access]}; package with {len(manifest['files'])} files "
        f"in {package}"
    )
    out.print(
        f"erasure request {erasure}: {second.states[erasure]}; verification probe: "
        f"{'nothing left' if probe and probe['residual'] == 0 else probe}"
    )
    out.print(
        f"audit verify: {'intact' if verdict.ok else 'BROKEN: ' + verdict.reason} ({verdict.events} events)"
    )
    for r in plan.results:
        out.print(
            f"retention {r.rule} ({r.target}): {r.count.expired - r.count.kept} of its records are past "
            f"their period today (dry run; dsr sweep removes them)"
        )
    out.print(f"try: dsr --config {config_path} status {erasure}")
    if not (first.all_completed and second.all_completed and verdict.ok):
        raise typer.Exit(EXIT_PROBLEM)
