"""Monthly new cases per article that honour every published figure, and the residuals they could not.

The sources were published at different dates and some were revised, so they do not all add up.
Precedence (docs/domain.md §5): monthly figures, then yearly, then period and cumulative totals; among those,
exact figures before approximate ones. A month without a figure gets a share of its constraint's
remainder in proportion to a shape interpolated from the neighbouring published months; once a month is
set, later (weaker) constraints cannot move it and what they miss is reported as a residual.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path

Month = tuple[int, int]
ARTICLES = ("407", "408")


# A month, or the month of a date (the statistics API names its monthly periods by their first day).
_MONTH_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})(?:-[0-9]{2})?")


def months_between(first: Month, last: Month) -> list[Month]:
    """Every month from ``first`` to ``last`` inclusive; none when ``last`` is before ``first``."""
    # Counting months rather than stepping (year, month) pairs: no pair can make the loop miss its end.
    return [_month_at(i) for i in range(_month_index(first), _month_index(last) + 1)]


def month_of(text: str) -> Month:
    """The month of ``YYYY-MM``, or of ``YYYY-MM-DD`` (the day is not read); ValueError for anything else."""
    match = _MONTH_TEXT.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a month (YYYY-MM)")
    return _real((int(match[1]), int(match[2])))


def _real(month: Month) -> Month:
    year, number = month
    if not 1 <= number <= 12:
        raise ValueError(f"{year:04d}-{number:02d} is not a month: months run from 01 to 12")
    return month


def _month_index(month: Month) -> int:
    year, number = _real(month)
    return year * 12 + number - 1


def _month_at(index: int) -> Month:
    year, offset = divmod(index, 12)
    return year, offset + 1


@dataclass(frozen=True)
class Figure:
    """One row of official-stats.csv."""

    series: str
    period: str
    article: str
    value: int
    qualifier: str
    source: str


@dataclass(frozen=True)
class Constraint:
    """A published total over a set of months of one article."""

    article: str
    months: tuple[Month, ...]
    value: int
    rank: int
    label: str


@dataclass(frozen=True)
class Residual:
    label: str
    published: int
    generated: int

    @property
    def difference(self) -> int:
        return self.generated - self.published


@dataclass(frozen=True)
class CaseCalendar:
    """New cases per (article, month) over the simulated months, and what could not be matched."""

    counts: dict[tuple[str, Month], int]
    monthly_figures: dict[tuple[str, Month], int]
    residuals: list[Residual]

    def total(self, article: str, months: Iterable[Month]) -> int:
        return sum(self.counts.get((article, m), 0) for m in months)


def read_figures(path: Path | None = None) -> list[Figure]:
    """The official figures: the copy shipped with the package unless a path is given."""
    text = (
        path.read_text() if path else (files("amnesty_simulator") / "data" / "official-stats.csv").read_text()
    )
    return [
        Figure(r["series"], r["period"], r["article"], int(r["value"]), r["qualifier"], r["source"])
        for r in csv.DictReader(text.splitlines())
    ]


def _constraint(figure: Figure) -> Constraint | None:
    if figure.series == "new_cases_year":
        months = months_between((int(figure.period), 1), (int(figure.period), 12))
        base = 1
    elif figure.series in ("new_cases_period", "cases_cumulative"):
        start, end = figure.period.split("..")
        months = months_between(month_of(start), month_of(end))
        base = 2
    else:
        return None
    exact = figure.qualifier == "exact"
    return Constraint(
        figure.article,
        tuple(months),
        figure.value,
        base + (0 if exact else 10),
        f"{figure.series} {figure.period} art. {figure.article} ({figure.qualifier})",
    )


def covered_months(figures: Sequence[Figure]) -> tuple[Month, Month]:
    """The first and last month that a published case figure covers: the months calibration can honour."""
    months = [month_of(f.period) for f in figures if f.series == "new_cases_month"]
    months += [m for f in figures if (c := _constraint(f)) is not None for m in (c.months[0], c.months[-1])]
    return min(months), max(months)


def _shape(article: str, month: Month, known: dict[tuple[str, Month], int], span: Sequence[Month]) -> float:
    """Linear interpolation between the nearest months with a value before and after."""
    index = span.index(month)
    before = next(
        ((i, known[(article, span[i])]) for i in range(index - 1, -1, -1) if (article, span[i]) in known),
        None,
    )
    after = next(
        ((i, known[(article, span[i])]) for i in range(index + 1, len(span)) if (article, span[i]) in known),
        None,
    )
    if before and after:
        weight = (index - before[0]) / (after[0] - before[0])
        return before[1] + weight * (after[1] - before[1])
    return float((before or after or (0, 1))[1])


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Integers in proportion to the weights, summing exactly to ``total`` (largest remainder)."""
    if total <= 0 or not weights:
        return [0] * len(weights)
    if sum(weights) <= 0:
        weights = [1.0] * len(weights)
    mass = sum(weights)
    raw = [total * w / mass for w in weights]
    floors = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - floors[i], reverse=True)[: total - sum(floors)]:
        floors[i] += 1
    return floors


def calibrate(figures: Sequence[Figure], first: Month, last: Month) -> CaseCalendar:
    """Monthly new cases for both articles from ``first`` to ``last`` (inclusive)."""
    span = months_between(first, last)
    known = {
        (f.article, month_of(f.period)): f.value
        for f in figures
        if f.series == "new_cases_month" and month_of(f.period) in span
    }
    monthly = dict(known)
    constraints = sorted(
        (c for f in figures if (c := _constraint(f)) is not None),
        key=lambda c: (c.rank, c.months[-1], c.label),
    )
    residuals: list[Residual] = []
    for c in constraints:
        inside = [m for m in c.months if m in span]
        if len(inside) < len(c.months):
            residuals.append(Residual(c.label + " — reaches beyond the simulated months", c.value, -1))
            continue
        free = [m for m in inside if (c.article, m) not in known]
        fixed = sum(known[(c.article, m)] for m in inside if (c.article, m) in known)
        shapes = [_shape(c.article, m, known, span) for m in free]
        for m, n in zip(free, apportion(c.value - fixed, shapes), strict=True):
            known[(c.article, m)] = n
        generated = sum(known[(c.article, m)] for m in inside)
        if generated != c.value:
            residuals.append(Residual(c.label, c.value, generated))
    for article in ARTICLES:  # months no figure reaches: carried by the shape alone
        for m in span:
            if (article, m) not in known:
                known[(article, m)] = round(_shape(article, m, known, span))
    return CaseCalendar(known, monthly, residuals)


@dataclass(frozen=True)
class ReturnTarget:
    """Cumulative voluntary returns since the first window opened, as published for a date."""

    on: date
    value: int
    qualifier: str


WINDOW_OPENED = date(2024, 11, 29)


def return_targets(figures: Sequence[Figure]) -> list[ReturnTarget]:
    targets = []
    for f in figures:
        if f.series == "returns_cumulative":
            start, end = f.period.split("..")
            assert date.fromisoformat(start) == WINDOW_OPENED, f.period
            targets.append(ReturnTarget(date.fromisoformat(end), f.value, f.qualifier))
    return sorted(targets, key=lambda t: t.on)
