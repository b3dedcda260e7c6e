"""`dsr`: submit, run and prove data-subject requests."""

from __future__ import annotations

import sys

import typer

from . import audit, backups, database, datamap, demo, discover, keys, requests, retention, serve, tenants
from .common import EXIT_BAD_INPUT, default_actor, err, state, undecodable

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False)


@app.callback()
def root(
    config: str = typer.Option(
        None, "--config", "-c", help="dsr.yaml to use (else $DSR_CONFIG, else ./dsr.yaml)"
    ),
    actor: str = typer.Option(
        None, "--actor", help="who is acting, for the audit trail (else $DSR_ACTOR or user)"
    ),
) -> None:
    state.config_option = config
    state.actor = actor or default_actor()


requests.register(app)
app.command("demo")(demo.demo)
app.add_typer(datamap.app, name="datamap")
app.add_typer(audit.app, name="audit")
app.add_typer(database.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(discover.app, name="discover")
app.add_typer(retention.sweep_app, name="sweep")
app.add_typer(retention.hold_app, name="hold")
app.add_typer(backups.app, name="backups")
app.add_typer(tenants.app, name="tenant")
app.command("serve")(serve.serve)
app.command("console")(serve.console)
app.add_typer(serve.apikey_app, name="apikey")
app.add_typer(serve.webhooks_app, name="webhooks")


def main() -> None:
    bad = undecodable(sys.argv[1:])
    if bad is not None:
        err.print(f"[red]error:[/red] argument {bad} is not valid UTF-8 text")
        raise SystemExit(EXIT_BAD_INPUT)
    app()
