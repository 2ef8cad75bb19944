"""The API's parameters, checked into values or a 400 naming the parameter; the summary's arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from amnesty_statistics.domain.queries import (
    MAX_PERIODS,
    Filters,
    InvalidParameter,
    Period,
    SeriesMetric,
    SeriesQuery,
    parse_filters,
    parse_series,
    period_count,
    series_range,
    summarize,
    too_many_periods,
)


def test_no_parameters_mean_all_time_everywhere() -> None:
    assert parse_filters({}) == Filters()


def test_filters_are_parsed() -> None:
    assert parse_filters({"from": "2025-01-01", "to": "2025-01-31", "region": "UA-48", "article": "408"}) == (
        Filters(date(2025, 1, 1), date(2025, 1, 31), "UA-48", "408")
    )
    assert parse_filters({"region": "unknown", "article": "unknown"}) == Filters(
        region="unknown", article="unknown"
    )


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"from": "2025-1-1"}, "from"),
        ({"to": "2025-02-30"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2025-02-01", "to": "2025-01-31"}, "from"),
        ({"region": "UA-99"}, "region"),
        ({"region": "ua-48"}, "region"),
        ({"article": "409"}, "article"),
        # The driver sends the extreme dates as -infinity / infinity: a series over them never ends.
        ({"from": "0001-01-01", "to": "0001-03-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "1999-12-31"}, "from"),
        ({"to": "2100-01-01"}, "to"),
    ],
)
def test_a_bad_filter_names_its_parameter(params: dict[str, str], parameter: str) -> None:
    invalid = parse_filters(params)
    assert isinstance(invalid, InvalidParameter)
    assert invalid.parameter == parameter
    assert invalid.error == "invalid-parameter"


def test_the_plausible_years_are_answered() -> None:
    assert parse_filters({"from": "2000-01-01", "to": "2099-12-31"}) == Filters(
        date(2000, 1, 1), date(2099, 12, 31)
    )


def test_the_regions_question_takes_no_region() -> None:
    assert parse_filters({"region": "nowhere"}, by_region=False) == Filters()


def test_a_series_needs_a_known_metric_and_period() -> None:
    assert parse_series({"metric": "voluntary_returns", "period": "week"}) == SeriesQuery(
        SeriesMetric.VOLUNTARY_RETURNS, Period.WEEK, Filters()
    )
    missing = parse_series({"period": "week"})
    assert isinstance(missing, InvalidParameter)
    assert (missing.parameter, missing.error) == ("metric", "missing-parameter")
    wrong = parse_series({"metric": "returns", "period": "week"})
    assert isinstance(wrong, InvalidParameter)
    assert (wrong.parameter, wrong.error) == ("metric", "invalid-parameter")
    assert isinstance(bad_period := parse_series({"metric": "pending", "period": "year"}), InvalidParameter)
    assert bad_period.parameter == "period"


def test_every_summary_name_can_be_a_series() -> None:
    names = {"cases_opened", "voluntary_returns", "detained", "amnesties_granted", "amnesties_denied"}
    names |= {"pending", "revoked", "open_cases", "return_rate"}
    assert {m.value for m in SeriesMetric} == names


@pytest.mark.parametrize(
    ("period", "start", "end", "count"),
    [
        (Period.DAY, date(2025, 1, 1), date(2025, 1, 1), 1),
        (Period.DAY, date(2024, 12, 30), date(2025, 1, 5), 7),
        (Period.WEEK, date(2024, 12, 30), date(2025, 1, 5), 1),  # 2025-W01 starts in 2024
        (Period.WEEK, date(2024, 12, 29), date(2025, 1, 6), 3),
        (Period.MONTH, date(2024, 12, 31), date(2025, 1, 1), 2),
        (Period.MONTH, date(2024, 1, 15), date(2025, 1, 14), 13),
    ],
)
def test_periods_are_counted_as_iso_weeks_and_calendar_months(
    period: Period, start: date, end: date, count: int
) -> None:
    assert period_count(period, start, end) == count


def test_too_long_a_series_is_refused() -> None:
    query = SeriesQuery(SeriesMetric.PENDING, Period.DAY, Filters())
    assert (
        too_many_periods(
            query,
            date(2000, 1, 1),
            date(2000, 1, 1) + (date(2000, 1, 2) - date(2000, 1, 1)) * (MAX_PERIODS - 1),
        )
        is None
    )
    refused = too_many_periods(query, date(1, 1, 1), date(2025, 1, 1))
    assert isinstance(refused, InvalidParameter)
    assert refused.parameter == "from"
    assert (
        too_many_periods(
            SeriesQuery(SeriesMetric.PENDING, Period.MONTH, Filters()), date(1900, 1, 1), date(2025, 1, 1)
        )
        is None
    )


@pytest.mark.parametrize("period", list(Period))
def test_a_series_left_open_by_its_parameters_stays_answerable_whatever_day_the_data_holds(
    period: Period,
) -> None:
    """A mistyped registration date (intake takes any real past date, 1025-05-01 say) was the default
    start of every series, and the live page's, which asks without from, showed nothing but an error."""
    query = SeriesQuery(SeriesMetric.CASES_OPENED, period, Filters())
    start, end = series_range(query, date(1025, 5, 1), date(2025, 6, 1))
    assert end == date(2025, 6, 1)
    assert start >= date(2000, 1, 1)
    assert too_many_periods(query, start, end) is None
    # Days with figures over more periods than a series may have: the last ones.
    start, end = series_range(query, date(2000, 1, 1), date(2098, 6, 1))
    assert end == date(2098, 6, 1)
    assert period_count(period, start, end) == min(MAX_PERIODS, period_count(period, date(2000, 1, 1), end))


def test_a_series_range_keeps_what_its_parameters_say() -> None:
    asked = SeriesQuery(SeriesMetric.CASES_OPENED, Period.DAY, Filters(date(2024, 1, 1), date(2024, 12, 31)))
    assert series_range(asked, date(1025, 5, 1), date(2025, 6, 1)) == (date(2024, 1, 1), date(2024, 12, 31))
    to_only = SeriesQuery(SeriesMetric.CASES_OPENED, Period.MONTH, Filters(end=date(2024, 12, 31)))
    assert series_range(to_only, date(2022, 1, 3), date(2025, 6, 1)) == (date(2022, 1, 3), date(2024, 12, 31))


def test_a_summary_adds_up_by_regime_and_reason() -> None:
    summary = summarize(
        [
            ("cases_opened", "", "", 10),
            ("voluntary_returns", "", "", 4),
            ("amnesties_granted", "window-1", "", 2),
            ("amnesties_granted", "window-2", "", 1),
            ("amnesties_granted", "pilot-2026", "", 0),
            ("amnesties_denied", "", "outside-window", 1),
            ("revoked", "window-1", "repeat-offence", 1),
        ],
        open_cases=6,
    )
    assert summary.as_json() == {
        "cases_opened": 10,
        "voluntary_returns": 4,
        "detained": 0,
        "amnesties_granted": 3,
        "amnesties_granted_by_regime": {"window-1": 2, "window-2": 1},
        "amnesties_denied": 1,
        "amnesties_denied_by_reason": {"outside-window": 1},
        "pending": 0,
        "revoked": 1,
        "open_cases": 6,
        "return_rate": 0.4,
    }


def test_the_return_rate_of_no_case_is_null() -> None:
    assert summarize([("voluntary_returns", "", "", 3)], open_cases=0).return_rate is None
