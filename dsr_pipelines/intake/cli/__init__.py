"""`dsr`: submit, run and prove data-subject requests."""

from __future__ import annotations

import os
import sys
from importlib import import_module

import typer
from typer.core import TyperGroup

# pydantic looks for plugins in the metadata of every installed package when it builds its first
# model (5-8 ms of a command that should answer at once); this command line uses none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from . import demo, requests, serve  # noqa: E402
from .common import EXIT_BAD_INPUT, default_actor, err, state, undecodable  # noqa: E402

# Command groups by name: (module, its Typer). Each is imported and built when named, so that
# `dsr status` neither imports nor builds the thirty commands it does not run; `--help` lists all.
GROUPS = {
    "datamap": ("datamap", "app"),
    "audit": ("audit", "app"),
    "db": ("database", "app"),
    "keys": ("keys", "app"),
    "discover": ("discover", "app"),
    "sweep": ("retention", "sweep_app"),
    "hold": ("retention", "hold_app"),
    "backups": ("backups", "app"),
    "tenant": ("tenants", "app"),
    "apikey": ("serve", "apikey_app"),
    "webhooks": ("serve", "webhooks_app"),
}


class Commands(TyperGroup):
    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [*super().list_commands(ctx), *GROUPS]

    def get_command(self, ctx: typer.Context, name: str):
        if name in GROUPS and name not in self.commands:
            module, attribute = GROUPS[name]
            group = typer.main.get_group(getattr(import_module(f".{module}", __name__), attribute))
            group.name = name
            self.commands[name] = group
        return super().get_command(ctx, name)


app = typer.Typer(
    cls=Commands, no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)


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
app.command("serve")(serve.serve)
app.command("console")(serve.console)


def main() -> None:
    bad = undecodable(sys.argv[1:])
    if bad is not None:
        err.print(f"[red]error:[/red] argument {bad} is not valid UTF-8 text")
        raise SystemExit(EXIT_BAD_INPUT)
    app()
