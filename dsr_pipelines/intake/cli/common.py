"""What every command shares: the project and its actor, the consoles, the error edge."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from connectors import StoreError

from ...core.errors import DsrError

if TYPE_CHECKING:  # the service layer loads when a command opens its project, not for --help
    from ..api import Dsr

out = Console(highlight=False, soft_wrap=True)  # results only; never hard-wrapped, so pipes see whole lines
err = Console(stderr=True, highlight=False, soft_wrap=True)  # progress, messages, errors

EXIT_PROBLEM = 1  # ran, and found a problem (broken ledger, request not completed, a refusal)
EXIT_BAD_INPUT = 2


@dataclass
class CliState:
    config_option: str | None = None
    actor: str = ""


state = CliState()


def default_actor() -> str:
    return os.environ.get("DSR_ACTOR") or f"cli:{getpass.getuser()}"


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a user's mistake into one red line and exit 2, with no traceback."""
    try:
        yield
    except (DsrError, StoreError) as exc:
        fail(str(exc))
    except OSError as exc:  # a path that cannot be read or written: the path and why, no traceback
        fail(f"{exc.filename or 'a file'}: {exc.strerror or exc.__class__.__name__}")


def fail(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}")  # a message's own [brackets] are text
    raise typer.Exit(EXIT_BAD_INPUT) from None


def undecodable(arguments: list[str]) -> int | None:
    """The position of the first argument that was not UTF-8 (Python keeps its bytes as lone
    surrogates, which no store, key or database takes)."""
    for position, argument in enumerate(arguments, start=1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            return position
    return None


@contextmanager
def project() -> Iterator[Dsr]:
    """This command's project (`--config`) as the Python API, acting as `--actor`; closed after."""
    from ..api import Dsr

    with user_errors():
        dsr = Dsr(state.config_option, state.actor)
        try:
            yield dsr
        finally:
            dsr.close()


def print_json(data) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def parse_date(text: str | None, option: str) -> datetime | None:
    """An ISO date or time given on the command line (`--as-of`, `--until`)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise DsrError(f"{option}: {text!r} is not a date such as 2026-01-31") from None
    # The state database keeps UTC without a zone: a time given with one is converted to it.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
