"""Error text without the values in it: the one boundary a driver's or Arrow's message crosses before
it reaches the state database, the ledger or Dagster's event log.

Drivers and Arrow quote the value that failed ("Duplicate entry 'ann@example.com' for key 'email'",
"Could not convert 'abc' with type str", PostgreSQL's "Key (email)=(ann@example.com)"). The first
line is kept (later lines are details: PostgreSQL's DETAIL holds whole rows), then every quoted or
bracketed value and every value Arrow names is replaced by an ellipsis. Names of tables and columns
that were quoted go too: a message a person can act on without the data is the trade.
"""

from __future__ import annotations

import re

HIDDEN = "…"
_PATTERNS = (
    re.compile(r"'(?:[^'\\]|\\.)*'"),  # 'value'
    re.compile(r'"(?:[^"\\]|\\.)*"'),  # "value"
    re.compile(r"`[^`]*`"),  # `value`
    re.compile(r"=\([^)]*\)"),  # Key (email)=(value)
    re.compile(r"(?<=Could not convert ).+?(?= with type)"),  # Arrow: Could not convert 123 with type int
    re.compile(r"(?<=[Vv]alue ).+?(?= (?:not in range|out of range|is out|does not fit|overflows))"),
)
_LIMIT = 300


def scrub(text: str) -> str:
    """`text`'s first line with the values it quotes replaced by an ellipsis."""
    lines = str(text).strip().splitlines()
    line = lines[0] if lines else ""
    for pattern in _PATTERNS:
        line = pattern.sub(lambda m: _keep_delimiters(m.group(0)), line)
    return line[:_LIMIT]


def _keep_delimiters(found: str) -> str:
    if found[:1] in "'\"`" and found[-1:] == found[:1] and len(found) > 1:
        return found[0] + HIDDEN + found[-1]
    if found.startswith("=("):
        return "=(" + HIDDEN + ")"
    return HIDDEN


def scrubbed(exc: BaseException) -> str:
    """The scrubbed first line of an exception (of the driver's own, for SQLAlchemy's wrappers)."""
    inner = getattr(exc, "orig", None) or exc
    args = getattr(inner, "args", ())
    # MySQL drivers carry (code, message): the message alone, or its quotes would hide all of it
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text = f"{args[1]} ({args[0]})"
    else:
        text = str(inner)
    return scrub(text) or exc.__class__.__name__
