"""Reading a record's age where it is not a typed timestamp: a date in a name, a partition value."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

# strftime directives a key date may use, and the text each matches.
_DIRECTIVES = {"Y": r"\d{4}", "m": r"\d{2}", "d": r"\d{2}", "H": r"\d{2}", "M": r"\d{2}", "j": r"\d{3}"}


def key_date_reader(form: str) -> Callable[[str], datetime | None]:
    """A reader of the first date written as `form` (`%Y/%m/%d`, `%Y-%m-%d`) anywhere in a name.

    Raises ValueError for a form with other directives, or none that gives the year.
    """
    parts, i = [], 0
    while i < len(form):
        if form[i] == "%" and i + 1 < len(form):
            directive = form[i + 1]
            if directive not in _DIRECTIVES:
                raise ValueError(f"key date {form!r}: %{directive} is not supported (use %Y %m %d %H %M %j)")
            parts.append(_DIRECTIVES[directive])
            i += 2
        else:
            parts.append(re.escape(form[i]))
            i += 1
    if "%Y" not in form:
        raise ValueError(f"key date {form!r}: needs %Y")
    pattern = re.compile("".join(parts))

    def read(name: str) -> datetime | None:
        for match in pattern.finditer(name):
            try:
                return datetime.strptime(match.group(0), form)
            except ValueError:  # 2025/13/45: not a date, look further
                continue
        return None

    return read


def parse_moment(text: str) -> datetime | None:
    """An ISO date or timestamp (a partition value such as `2025-01-31`), as naive UTC; None if not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
