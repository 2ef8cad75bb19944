from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from amnesty_contracts import TODAY, IsoDate, NotFutureDate, Timestamp, ukraine_today

ISO_DATE = TypeAdapter(IsoDate)
NOT_FUTURE = TypeAdapter(NotFutureDate)
TIMESTAMP = TypeAdapter(Timestamp)


@pytest.mark.parametrize(
    ("now", "today"),
    [
        (datetime(2025, 1, 15, 21, 59, tzinfo=UTC), date(2025, 1, 16)),
        (datetime(2025, 7, 15, 20, 59, tzinfo=UTC), date(2025, 7, 15)),
        (datetime(2025, 7, 15, 21, 0, tzinfo=UTC), date(2025, 7, 16)),
        (datetime(2025, 7, 16, 0, 30, tzinfo=timezone(timedelta(hours=3))), date(2025, 7, 16)),
    ],
)
def test_ukraine_today_is_never_behind_the_date_in_kyiv(now: datetime, today: date) -> None:
    assert ukraine_today(now) == today


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-31", date(2025, 1, 31)),
        ("2024-02-29", date(2024, 2, 29)),
        (date(2025, 3, 1), date(2025, 3, 1)),
    ],
)
def test_iso_dates_are_read(value: object, expected: date) -> None:
    assert ISO_DATE.validate_python(value) == expected
    assert ISO_DATE.dump_json(expected) == f'"{expected.isoformat()}"'.encode()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2025-02-30", "is not a real calendar date"),
        ("2025-02-29", "is not a real calendar date"),
        ("2025-13-01", "is not a real calendar date"),
        ("0000-01-01", "is not a real calendar date"),
        ("2025-1-5", "must be a date written YYYY-MM-DD"),
        ("20250105", "must be a date written YYYY-MM-DD"),
        ("2025-01-05T00:00:00", "must be a date written YYYY-MM-DD"),
        ("2025-01-05 ", "must be a date written YYYY-MM-DD"),
        ("\uff12\uff10\uff12\uff15-01-05", "must be a date written YYYY-MM-DD"),
        (20250105, "must be a date written YYYY-MM-DD"),
        (1735689600.0, "must be a date written YYYY-MM-DD"),
        (None, "must be a date written YYYY-MM-DD"),
        (datetime(2025, 1, 5, tzinfo=UTC), "must be a date without a time"),
    ],
)
def test_other_dates_are_refused(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ISO_DATE.validate_python(value)


def test_a_date_may_be_today_but_not_tomorrow() -> None:
    today = date(2025, 6, 1)
    assert NOT_FUTURE.validate_python("2025-06-01", context={TODAY: today}) == today
    with pytest.raises(ValidationError, match="date is in the future"):
        NOT_FUTURE.validate_python("2025-06-02", context={TODAY: today})


def test_without_a_context_today_is_the_date_in_ukraine() -> None:
    assert NOT_FUTURE.validate_python(ukraine_today()) == ukraine_today()
    with pytest.raises(ValidationError, match="date is in the future"):
        NOT_FUTURE.validate_python(ukraine_today() + timedelta(days=2))


def test_a_datetime_as_today_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="must be a date"):
        NOT_FUTURE.validate_python("2025-06-01", context={TODAY: datetime(2025, 6, 1, tzinfo=UTC)})


@pytest.mark.parametrize(
    "value",
    [
        "2025-06-01T09:30:00Z",
        "2025-06-01T09:30:00.123+03:00",
        "2025-06-01t09:30:00z",
        "2025-06-01T09:30:00-05:00",
    ],
)
def test_rfc3339_timestamps_are_read(value: str) -> None:
    assert TIMESTAMP.validate_python(value).utcoffset() is not None


@pytest.mark.parametrize(
    "value",
    [
        "2025-06-01T09:30:00",
        "2025-06-01 09:30:00Z",
        "2025-06-01T09:30Z",
        "2025-06-01",
        1748770200,
        datetime(2025, 6, 1, 9, 30),  # noqa: DTZ001 - the naive datetime is the point
    ],
)
def test_timestamps_without_an_offset_or_in_other_shapes_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        TIMESTAMP.validate_python(value)


def test_timestamps_keep_their_offset_in_json() -> None:
    kyiv = datetime(2025, 5, 23, 0, 0, tzinfo=timezone(timedelta(hours=3)))
    assert TIMESTAMP.dump_json(kyiv) == b'"2025-05-23T00:00:00+03:00"'
    assert TIMESTAMP.dump_json(datetime(2025, 5, 23, tzinfo=UTC)) == b'"2025-05-23T00:00:00Z"'
