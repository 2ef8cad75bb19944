"""Calibration honours every published monthly figure and states what it could not match."""

from __future__ import annotations

import pytest

from amnesty_simulator.calibration import (
    CaseCalendar,
    calibrate,
    covered_months,
    month_of,
    months_between,
    read_figures,
)


@pytest.fixture(scope="module")
def calendar() -> CaseCalendar:
    return calibrate(read_figures(), (2022, 1), (2025, 9))


def test_every_published_monthly_figure_is_kept(calendar: CaseCalendar) -> None:
    monthly = [f for f in read_figures() if f.series == "new_cases_month"]
    assert len(monthly) == 38
    for f in monthly:
        assert calendar.counts[(f.article, month_of(f.period))] == f.value, f


@pytest.mark.parametrize(
    ("article", "first", "last", "value"),
    [
        ("407", (2022, 1), (2022, 12), 6988),
        ("407", (2023, 1), (2023, 12), 17658),
        ("407", (2024, 1), (2024, 12), 67840),
        ("407", (2025, 1), (2025, 7), 110511),
        ("407", (2022, 1), (2025, 7), 202997),
        ("408", (2023, 1), (2023, 12), 7883),
        ("408", (2022, 1), (2024, 9), 29521),
        ("408", (2022, 1), (2025, 7), 50058),
        ("408", (2022, 1), (2025, 9), 53954),
    ],
)
def test_exact_totals_hold(
    calendar: CaseCalendar, article: str, first: tuple[int, int], last: tuple[int, int], value: int
) -> None:
    assert calendar.total(article, months_between(first, last)) == value


def test_what_cannot_be_matched_is_stated_not_hidden(calendar: CaseCalendar) -> None:
    stated = {r.label.split(" (")[0]: r.difference for r in calendar.residuals if r.generated >= 0}
    # The sources disagree by these amounts (docs/domain.md §5): weaker figures yield to stronger ones.
    assert stated == {
        "cases_cumulative 2022-03..2024-09 art. 407": 630,
        "cases_cumulative 2022-01..2025-09 art. 407": -3,
        "new_cases_year 2024 art. 408": 1662,
    }
    beyond = [r.label for r in calendar.residuals if r.generated < 0]
    assert len(beyond) == 2
    assert all("2025-01..2025-10" in label for label in beyond)


def test_months_without_any_figure_are_positive_and_plausible(calendar: CaseCalendar) -> None:
    for (article, month), n in calendar.counts.items():
        assert n > 0, (article, month)
    assert calendar.counts[("407", (2025, 2))] > calendar.counts[("407", (2024, 1))]


@pytest.mark.timeout(5)
@pytest.mark.parametrize("month", [(2022, 13), (2022, 0), (2022, -1)])
def test_months_between_refuses_what_is_not_a_month(month: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="not a month"):
        months_between(month, (2025, 9))
    with pytest.raises(ValueError, match="not a month"):
        months_between((2022, 1), month)


def test_months_between_wraps_at_the_year_and_is_empty_when_reversed() -> None:
    assert months_between((2024, 11), (2025, 2)) == [(2024, 11), (2024, 12), (2025, 1), (2025, 2)]
    assert months_between((2025, 2), (2024, 11)) == []


@pytest.mark.parametrize(("text", "month"), [("2022-01", (2022, 1)), ("2025-09-01", (2025, 9))])
def test_month_of_reads_a_month_or_the_month_of_a_date(text: str, month: tuple[int, int]) -> None:
    assert month_of(text) == month


# The last one is 2022-01 in Arabic-Indic digits: int() reads them, a month is written in ASCII.
@pytest.mark.parametrize(
    "text",
    ["2022-13", "2022-00", "2022", "22-01", "2022-01-01-01", "", "\u0662\u0660\u0662\u0662-\u0660\u0661"],
)
def test_month_of_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="not a month"):
        month_of(text)


def test_the_figures_cover_2022_01_to_2025_10() -> None:
    # 2025-10 is reached by the Jan-Oct 2025 totals only, but it is reached.
    assert covered_months(read_figures()) == ((2022, 1), (2025, 10))
