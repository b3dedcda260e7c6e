"""`dsr db`: the state database's schema."""

import typer

from .common import out, project

app = typer.Typer(no_args_is_help=True, help="The state database (requests, ledger, holds, ...).")


@app.command("upgrade")
def upgrade() -> None:
    """Bring the state database to this release's schema, keeping every request, hold and event."""
    with project() as dsr:
        done = dsr.upgrade_database()
    if done.before == done.after:
        out.print(f"state database already at schema {done.after}")
    else:
        out.print(f"state database upgraded from {done.before or 'before migrations'} to schema {done.after}")
