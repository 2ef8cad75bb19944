"""Business dates and record times as the contract writes them: ISO 8601 dates, RFC 3339 timestamps."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Final

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, ValidationInfo
from pydantic_core import PydanticCustomError

TODAY: Final = "today"
"""Validation-context key holding the date after which a reported date counts as "in the future"."""

# [0-9] rather than \d: \d also matches other scripts' digits, which `date.fromisoformat` would refuse.
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)

# Ukraine is at UTC+2 in winter and UTC+3 in summer. Taking the larger offset, a date that is already today
# in Kyiv is never refused as future (at the price of accepting tomorrow for one hour in winter), and no
# time-zone database is needed.
_UKRAINE_LATEST_OFFSET: Final = timedelta(hours=3)


def ukraine_today(now: datetime | None = None) -> date:
    """Return the latest date it can be in Ukraine at `now` (default: the current time)."""
    moment = now if now is not None else datetime.now(UTC)
    return (moment.astimezone(UTC) + _UKRAINE_LATEST_OFFSET).date()


def _iso_date(value: object) -> date:
    # datetime is a subclass of date: refuse it first, a time of day has no place in a business date.
    if isinstance(value, datetime):
        raise PydanticCustomError("iso_date", "must be a date without a time")
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("iso_date", "must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("iso_date", "is not a real calendar date") from None


def _today(context: Any) -> date:
    today = context.get(TODAY) if isinstance(context, dict) else None
    if today is None:
        return ukraine_today()
    if isinstance(today, datetime) or not isinstance(today, date):
        raise TypeError(f"validation context {TODAY!r} must be a date, got {type(today).__name__}")
    return today


def _not_in_future(value: date, info: ValidationInfo) -> date:
    if value > _today(info.context):
        raise PydanticCustomError("date_in_future", "date is in the future")
    return value


def _rfc3339(value: object) -> object:
    # Pydantic alone would also take Unix timestamps and "2025-01-01 10:00"; the contract says RFC 3339.
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise PydanticCustomError("rfc3339", "must be an RFC 3339 date-time with an offset")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A real calendar date, `YYYY-MM-DD` in JSON; strings of other shapes, numbers and datetimes are refused."""

NotFutureDate = Annotated[IsoDate, AfterValidator(_not_in_future)]
"""An `IsoDate` not after the context's `today` (default: `ukraine_today()`): a reported fact is past."""

Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
"""An instant with its UTC offset, RFC 3339 in JSON."""
