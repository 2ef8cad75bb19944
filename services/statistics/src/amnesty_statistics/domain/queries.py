"""The questions the statistics API answers: their parameters, checked, and the summary's arithmetic.

Parameters arrive as strings (or absent) and leave as values or as an `InvalidParameter` naming the one
that is wrong: the HTTP door answers that as a 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Final

from amnesty_contracts import Article, is_region_code
from amnesty_statistics.domain.figures import UNKNOWN, Metric

_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

MAX_PERIODS: Final = 10_000
"""The longest series answered (27 years of days): a bound on the work one request can ask for."""

EARLIEST: Final = date(2000, 1, 1)
LATEST: Final = date(2099, 12, 31)
"""The business dates a query may name. Beyond them nothing is recorded, and the driver would send the
extreme dates as -infinity and infinity: a series over them never ends."""


class Period(StrEnum):
    """The buckets of a series: days, ISO weeks (Monday to Sunday), calendar months."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class SeriesMetric(StrEnum):
    """What a series can follow: the summary's names."""

    CASES_OPENED = "cases_opened"
    VOLUNTARY_RETURNS = "voluntary_returns"
    DETAINED = "detained"
    AMNESTIES_GRANTED = "amnesties_granted"
    AMNESTIES_DENIED = "amnesties_denied"
    PENDING = "pending"
    REVOKED = "revoked"
    OPEN_CASES = "open_cases"
    """Open cases at the end of each period (or at `to`), not the period's own count."""
    RETURN_RATE = "return_rate"
    """Voluntary returns / cases opened within each period; null when no case was opened."""

    @property
    def counted(self) -> tuple[Metric, ...]:
        """The daily table's metrics the series is computed from."""
        if self is SeriesMetric.OPEN_CASES:
            return (Metric.OPEN_CASES_CHANGE,)
        if self is SeriesMetric.RETURN_RATE:
            return (Metric.VOLUNTARY_RETURNS, Metric.CASES_OPENED)
        return (Metric(self.value),)


@dataclass(frozen=True, slots=True)
class InvalidParameter:
    """A query parameter that cannot be answered: a 400 naming it (`error` is the problem's code)."""

    parameter: str
    detail: str
    error: str = "invalid-parameter"


@dataclass(frozen=True, slots=True)
class Filters:
    """A business-date range (inclusive; None: unbounded) and, optionally, one region and one article."""

    start: date | None = None
    end: date | None = None
    region: str | None = None
    article: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "region": self.region,
            "article": self.article,
        }


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    metric: SeriesMetric
    period: Period
    filters: Filters


def parse_filters(params: Mapping[str, str | None], *, by_region: bool = True) -> Filters | InvalidParameter:
    """`from`, `to` (YYYY-MM-DD, from <= to) and, when ``by_region``, `region` and `article`."""
    dates: dict[str, date | None] = {}
    for name in ("from", "to"):
        parsed = _date(name, params.get(name))
        if isinstance(parsed, InvalidParameter):
            return parsed
        dates[name] = parsed
    start, end = dates["from"], dates["to"]
    if start is not None and end is not None and start > end:
        return InvalidParameter("from", f"from ({start}) is after to ({end})")
    if not by_region:
        return Filters(start, end)
    region, article = params.get("region"), params.get("article")
    if region is not None and not (is_region_code(region) or region == UNKNOWN):
        return InvalidParameter("region", f"must be an ISO 3166-2:UA code such as UA-48, or {UNKNOWN}")
    articles = [a.value for a in Article]
    if article is not None and article not in (*articles, UNKNOWN):
        return InvalidParameter("article", f"must be one of {', '.join(articles)}, {UNKNOWN}")
    return Filters(start, end, region, article)


def parse_series(params: Mapping[str, str | None]) -> SeriesQuery | InvalidParameter:
    """`metric` (required), `period` (required: day, week or month) and the filters."""
    metric = _choice("metric", params.get("metric"), SeriesMetric)
    if isinstance(metric, InvalidParameter):
        return metric
    period = _choice("period", params.get("period"), Period)
    if isinstance(period, InvalidParameter):
        return period
    filters = parse_filters(params)
    if isinstance(filters, InvalidParameter):
        return filters
    return SeriesQuery(SeriesMetric(metric), Period(period), filters)


def period_count(period: Period, start: date, end: date) -> int:
    """How many periods of ``period`` the range [start, end] touches."""
    if period is Period.DAY:
        return (end - start).days + 1
    if period is Period.WEEK:
        return (end.toordinal() - end.weekday() - (start.toordinal() - start.weekday())) // 7 + 1
    return (end.year - start.year) * 12 + end.month - start.month + 1


def series_range(query: SeriesQuery, first: date, last: date) -> tuple[date, date]:
    """The range of a series given the first and last days with figures, for what ``from`` and ``to``
    leave open: the days with figures, within the days a query may name, and, when ``from`` is left
    open, at most the last ``MAX_PERIODS`` periods. A mistyped date far back (intake takes any real
    past date) made the default range of the live page's series too long, and the page showed nothing.
    """
    start = query.filters.start or max(first, EARLIEST)
    end = query.filters.end or min(last, LATEST)
    if query.filters.start is None and period_count(query.period, start, end) > MAX_PERIODS:
        start = _periods_before(query.period, end, MAX_PERIODS - 1)
    return start, end


def _periods_before(period: Period, day: date, periods: int) -> date:
    """The first day of the period ``periods`` periods before the one holding ``day``."""
    if period is Period.DAY:
        return day - timedelta(days=periods)
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday() + 7 * periods)
    month = day.year * 12 + day.month - 1 - periods
    return date(month // 12, month % 12 + 1, 1)


def too_many_periods(query: SeriesQuery, start: date, end: date) -> InvalidParameter | None:
    if period_count(query.period, start, end) <= MAX_PERIODS:
        return None
    return InvalidParameter(
        "from",
        f"the range has more than {MAX_PERIODS} periods of a {query.period}: "
        "narrow it or ask for longer periods",
    )


def _date(name: str, raw: str | None) -> date | InvalidParameter | None:
    if raw is None or raw == "":
        return None
    if not _ISO_DATE.fullmatch(raw):
        return InvalidParameter(name, "must be a date written YYYY-MM-DD")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return InvalidParameter(name, "is not a real calendar date")
    if not EARLIEST <= day <= LATEST:
        return InvalidParameter(name, f"must be between {EARLIEST} and {LATEST}")
    return day


def _choice(name: str, raw: str | None, choices: type[StrEnum]) -> str | InvalidParameter:
    allowed = [c.value for c in choices]
    if raw is None or raw == "":
        return InvalidParameter(name, f"required: one of {', '.join(allowed)}", "missing-parameter")
    if raw not in allowed:
        return InvalidParameter(name, f"must be one of {', '.join(allowed)}")
    return raw


@dataclass(frozen=True, slots=True)
class Summary:
    """The figures of a range: counts by business date, open cases as of its end."""

    cases_opened: int = 0
    voluntary_returns: int = 0
    detained: int = 0
    amnesties_granted: int = 0
    amnesties_granted_by_regime: dict[str, int] = field(default_factory=dict)
    amnesties_denied: int = 0
    amnesties_denied_by_reason: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    revoked: int = 0
    open_cases: int = 0

    @property
    def return_rate(self) -> float | None:
        return return_rate(self.voluntary_returns, self.cases_opened)

    def as_json(self) -> dict[str, Any]:
        return {
            "cases_opened": self.cases_opened,
            "voluntary_returns": self.voluntary_returns,
            "detained": self.detained,
            "amnesties_granted": self.amnesties_granted,
            "amnesties_granted_by_regime": dict(sorted(self.amnesties_granted_by_regime.items())),
            "amnesties_denied": self.amnesties_denied,
            "amnesties_denied_by_reason": dict(sorted(self.amnesties_denied_by_reason.items())),
            "pending": self.pending,
            "revoked": self.revoked,
            "open_cases": self.open_cases,
            "return_rate": self.return_rate,
        }


def return_rate(voluntary_returns: int, cases_opened: int) -> float | None:
    """Voluntary returns per case opened; None (JSON null) when no case was opened."""
    return voluntary_returns / cases_opened if cases_opened else None


def summarize(totals: Iterable[tuple[str, str, str, int]], open_cases: int) -> Summary:
    """A summary from the daily table's sums by (metric, regime, reason) over a range."""
    plain: dict[str, int] = {}
    by_regime: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for metric, regime, reason, value in totals:
        plain[metric] = plain.get(metric, 0) + value
        if metric == Metric.AMNESTIES_GRANTED and value:
            by_regime[regime] = by_regime.get(regime, 0) + value
        if metric == Metric.AMNESTIES_DENIED and value:
            by_reason[reason] = by_reason.get(reason, 0) + value
    return Summary(
        cases_opened=plain.get(Metric.CASES_OPENED, 0),
        voluntary_returns=plain.get(Metric.VOLUNTARY_RETURNS, 0),
        detained=plain.get(Metric.DETAINED, 0),
        amnesties_granted=plain.get(Metric.AMNESTIES_GRANTED, 0),
        amnesties_granted_by_regime={k: v for k, v in by_regime.items() if v},
        amnesties_denied=plain.get(Metric.AMNESTIES_DENIED, 0),
        amnesties_denied_by_reason={k: v for k, v in by_reason.items() if v},
        pending=plain.get(Metric.PENDING, 0),
        revoked=plain.get(Metric.REVOKED, 0),
        open_cases=open_cases,
    )
