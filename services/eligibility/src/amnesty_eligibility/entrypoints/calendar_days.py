"""Days as a command line gives them, YYYY-MM-DD: a typer `parser=` that says why a date is impossible.

typer's own date handling answers "does not match '%Y-%m-%d'" for 2025-02-30, which reads as a format
mistake; this names what is wrong with the day instead.
"""

from __future__ import annotations

import calendar
import re
from datetime import MINYEAR, date

import typer

_YYYY_MM_DD = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def calendar_day(value: str | date) -> date:
    """The day ``value`` names, or typer.BadParameter saying why it names none."""
    if isinstance(value, date):
        return value
    match = _YYYY_MM_DD.fullmatch(value)
    if match is None:
        raise typer.BadParameter(f"{value!r} is not a date: write it YYYY-MM-DD, e.g. 2025-03-01")
    year, month, day = (int(part) for part in match.groups())
    if year < MINYEAR:
        raise typer.BadParameter(f"{value} is an impossible date: there is no year 0000")
    if not 1 <= month <= 12:
        raise typer.BadParameter(f"{value} is an impossible date: months run from 01 to 12")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise typer.BadParameter(
            f"{value} is an impossible date: {year:04d}-{month:02d} has days 01 to {days}"
        )
    return date(year, month, day)
