"""ISO-8601 durations (`P30D`, `P1M`, `P7Y`, `P2W`) as calendar arithmetic."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .errors import ConfigError

_PATTERN = re.compile(r"^P(?:(?P<y>\d+)Y)?(?:(?P<m>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?$")


@dataclass(frozen=True)
class Duration:
    years: int = 0
    months: int = 0
    days: int = 0

    def add_to(self, moment: datetime | date) -> datetime | date:
        """Calendar addition: months first, clamping to the month's last day (31 Jan + P1M = 28/29 Feb)."""
        total = moment.month - 1 + self.months + 12 * self.years
        year, month = moment.year + total // 12, total % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day) + timedelta(days=self.days)

    def subtract_from(self, moment: datetime | date) -> datetime | date:
        """Calendar subtraction, the mirror of `add_to` (31 Mar - P1M = 28/29 Feb)."""
        total = moment.month - 1 - self.months - 12 * self.years
        year, month = moment.year + total // 12, total % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day) - timedelta(days=self.days)

    @property
    def exact_days(self) -> int | None:
        """The length in days when it has one (no months or years), else None."""
        return None if self.years or self.months else self.days

    def __str__(self) -> str:
        parts = [f"{n}{u}" for n, u in ((self.years, "Y"), (self.months, "M"), (self.days, "D")) if n]
        return "P" + ("".join(parts) or "0D")


def parse_duration(text: str, where: str = "duration") -> Duration:
    """Parse a date-only ISO-8601 duration; `where` names the setting in the error."""
    match = _PATTERN.match(str(text).strip()) if text is not None else None
    if not match or str(text).strip() == "P":
        raise ConfigError(f"{where}: {text!r} is not an ISO-8601 duration such as P30D, P1M or P7Y")
    y, m, w, d = (int(match.group(k) or 0) for k in "ymwd")
    return Duration(years=y, months=m, days=d + 7 * w)
