"""`dsr demo`: the whole flow on an embedded SQLite shop, no server needed."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import typer
from rich.table import Table

from .. import api
from .. import demo as demo_project
from ..config import load_config
from .common import EXIT_PROBLEM, err, out, user_errors


def demo(folder: Path = typer.Option(Path("dsr-demo"), "--dir", help="where the demo project lives")) -> None:
    """Build a small shop, submit an access and an erasure request, run them and show the evidence."""
    with user_errors():
        config_path, persons = demo_project.prepare(folder)
        config = load_config(config_path)
        actor = "demo"
        with closing(api.open_requests(config)) as rs:
            runs = len(rs.list())
        # A new pair of people on every invocation, so the demo can be run again in the same folder.
        subject = persons[(2 * runs) % len(persons)]
        access = api.submit(config, subject.tenant, "access", [f"email={subject.email}"], actor, True)
        erasure = api.submit(
            config,
            subject.tenant,
            "erasure",
            [f"email={subject.email}", f"phone={subject.phone}"],
            actor,
            True,
        )
        err.print(
            f"submitted access request {access} and erasure request {erasure} for one customer of "
            f"tenant {subject.tenant}"
        )
        first = api.run(config, str(config_path), [access], actor)
        second = api.run(config, str(config_path), [erasure], actor)
        package = folder / "exports" / f"request-{access}"
        manifest = api.export_package(config, access, package)
        plan = api.sweep(config, actor, dry_run=True)  # what retention would remove today
        with closing(api.open_requests(config)) as rs:
            found = rs.results(access)
            erased = rs.results(erasure)
            probe = rs.get(erasure).probe
            verdict = rs.ledger.verify()

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
