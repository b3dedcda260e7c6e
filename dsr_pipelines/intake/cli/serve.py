"""`dsr serve` (the controllers' HTTP API) and `dsr apikey` (its keys)."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.table import Table

from .common import err, out, print_json, project

apikey_app = typer.Typer(no_args_is_help=True, help="API keys for the controllers' HTTP API.")


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", help="port to listen on"),
    rate: float = typer.Option(50.0, "--rate", help="calls a second per API key, steady"),
    burst: int = typer.Option(200, "--burst", help="calls an API key may make at once"),
    max_body: int = typer.Option(1_000_000, "--max-body", help="largest request body, in bytes"),
    key_cache: float = typer.Option(
        2.0, "--key-cache", help="seconds a checked key is remembered; a revocation applies within it"
    ),
    deliver_every: float = typer.Option(
        5.0,
        "--deliver-every",
        help="seconds between callback deliveries (0: leave them to dsr webhooks deliver)",
    ),
    retry_base: float = typer.Option(
        30.0, "--retry-base", help="seconds before a failed callback's first retry"
    ),
    attempts: int = typer.Option(8, "--attempts", help="attempts before a callback becomes a dead letter"),
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs) until interrupted."""
    import uvicorn

    from ...service.webhooks import Retry
    from ..http.app import Limits, create_app

    with project() as dsr:  # the project must open before the server says it is up
        config_path = dsr.config_path
    retry = Retry(base=timedelta(seconds=retry_base), attempts=attempts)
    limits = Limits(max_body, rate, burst, key_cache, deliver_every, retry)
    app = create_app(config_path, limits)
    # uvicorn's own access log would print query strings; the API logs ids only (dsr.http.access).
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="info", log_config=LOGGING)


# uvicorn's loggers, and the API's access log (method, route, ids, status, key id), on stderr.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO"},
        "dsr.http": {"handlers": ["stderr"], "level": "INFO"},
    },
}


def console(
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="where dsr serve answers"),
) -> None:
    """Print a link to the operator console (valid for a few minutes; it signs the browser in)."""
    from ...service import apikeys

    with project() as dsr:
        ticket = apikeys.console_ticket(dsr.ws, dsr.actor)
    typer.echo(f"{url.rstrip('/')}/console/enter?ticket={ticket}")


@apikey_app.command("create")
def create(
    tenant: str = typer.Option(None, "--tenant", help="the controller the key belongs to"),
    operator: bool = typer.Option(False, "--operator", help="an operator's key (every tenant's queue)"),
    scopes: str = typer.Option(
        None, "--scopes", help="comma-separated, e.g. requests:read,requests:write,holds:write (default: all)"
    ),
    expires: str = typer.Option(None, "--expires", help="lifetime, an ISO-8601 duration such as P90D"),
) -> None:
    """Create a key; it is printed once, on stdout, and only its hash is kept."""
    if (tenant is None) != operator:
        raise typer.BadParameter("give --tenant NAME for a controller's key, or --operator")
    with project() as dsr:
        made = dsr.create_api_key(tenant, scopes, expires)
    err.print(f"key {made.record.id} for {tenant or 'the operator'}: {', '.join(sorted(made.record.scopes))}")
    err.print("store it now: it is not shown again")
    typer.echo(made.token)


@apikey_app.command("rotate")
def rotate(
    key_id: str = typer.Argument(..., help="the key to replace"),
    overlap: str = typer.Option(None, "--overlap", help="how long the old key keeps working (default P7D)"),
) -> None:
    """A successor with the same tenant and scopes; both work until the overlap ends."""
    with project() as dsr:
        made = dsr.rotate_api_key(key_id, overlap)
    err.print(f"key {made.record.id} replaces {key_id}; store it now: it is not shown again")
    typer.echo(made.token)


@apikey_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="the key to revoke")) -> None:
    """Stop a key at once."""
    with project() as dsr:
        dsr.revoke_api_key(key_id)
    out.print(f"key {key_id} revoked")


@apikey_app.command("list")
def list_keys(
    tenant: str = typer.Option(None, "--tenant", help="only this tenant's keys"),
    json_out: bool = typer.Option(False, "--json", help="print the list as JSON"),
) -> None:
    """Every key: tenant, scopes, dates (never a secret)."""
    with project() as dsr:
        keys = dsr.api_keys(tenant)
    rows = [
        {
            "id": k.id,
            "tenant": k.tenant,
            "scopes": sorted(k.scopes),
            "created_at": k.created_at.isoformat(),
            "expires_at": k.expires_at.isoformat() if k.expires_at else None,
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            "replaced_by": k.replaced_by,
        }
        for k in keys
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("id", "tenant", "scopes", "created", "expires", "revoked")
    for r in rows:
        table.add_row(
            r["id"],
            r["tenant"] or "(operator)",
            " ".join(r["scopes"]),
            r["created_at"][:10],
            (r["expires_at"] or "")[:10],
            (r["revoked_at"] or "")[:10],
        )
    out.print(table)


webhooks_app = typer.Typer(
    no_args_is_help=True, help="Callbacks to controllers: deliver, dead letters, replay."
)


@webhooks_app.command("deliver")
def deliver() -> None:
    """One pass: queue deadline reminders, POST every callback that is due (dsr serve does this itself)."""
    with project() as dsr:
        done = dsr.deliver_callbacks()
    out.print(f"{done.sent} delivered, {done.failed} to retry, {done.dead} dead")


@webhooks_app.command("dead")
def dead(json_out: bool = typer.Option(False, "--json", help="print the list as JSON")) -> None:
    """Callbacks that failed every attempt."""
    with project() as dsr:
        letters = dsr.dead_letters()
    rows = [
        {
            "id": e.id,
            "tenant": e.tenant,
            "type": e.kind,
            "request_id": e.request_id,
            "attempts": e.attempts,
            "last_error": e.last_error,
            "created_at": e.created_at.isoformat(),
        }
        for e in letters
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("id", "tenant", "type", "request", "attempts", "last error")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["tenant"],
            r["type"],
            str(r["request_id"] or ""),
            str(r["attempts"]),
            r["last_error"] or "",
        )
    out.print(table)


@webhooks_app.command("replay")
def replay(event_id: int = typer.Argument(..., help="the dead letter's id (dsr webhooks dead)")) -> None:
    """Queue a dead letter again; the next delivery sends it."""
    with project() as dsr:
        dsr.replay_callback(event_id)
    out.print(f"callback {event_id} queued again")
