"""`dsr datamap`: bootstrap a datamap from a store's schema, and check it against the stores."""

import typer
from rich.markup import escape

from .common import EXIT_PROBLEM, err, out, project

app = typer.Typer(no_args_is_help=True, help="Where personal data lives.")


@app.command("init")
def init(
    store: str = typer.Option(..., "--store", help="store name from dsr.yaml"),
    force: bool = typer.Option(False, "--force", help="replace this store's entry if the datamap has one"),
) -> None:
    """Draft a datamap entry for STORE: tables, keys and references from reflection, personal fields
    and identities from a sample of each table (as dsr discover samples)."""
    with project() as dsr:
        drafted = dsr.init_datamap(store, force)
        path = dsr.ws.config.datamap_path
    entry = drafted.datamap.stores[store]
    fields = sum(len(c.fields) for c in entry.collections.values())
    out.print(
        f"wrote {path}: {len(entry.collections)} collections, {fields} fields, {drafted.identities} "
        "identities proposed, each with a question in a comment: whose are they? (all reviewed: false; "
        "review them, then run dsr datamap check)"
    )


@app.command("check")
def check() -> None:
    """Validate the datamap against the live stores; exit 1 listing every problem with its key path."""
    with project() as dsr:
        problems = dsr.check_datamap()
    for problem in problems:
        err.print(f"[red]problem[/red] {escape(str(problem))}")
    if problems:
        raise typer.Exit(EXIT_PROBLEM)
    out.print("datamap ok")
