"""Answering the statistics API: summaries, series with every period present, the regions."""

from __future__ import annotations

from datetime import date
from typing import Any

from amnesty_contracts import REGION_NAMES
from amnesty_statistics.adapters.stats_queries import StatsQueries
from amnesty_statistics.domain.figures import Metric
from amnesty_statistics.domain.queries import (
    Filters,
    InvalidParameter,
    SeriesMetric,
    SeriesQuery,
    return_rate,
    series_range,
    too_many_periods,
)


async def summary(queries: StatsQueries, filters: Filters) -> dict[str, Any]:
    return {**filters.as_json(), **(await queries.summary(filters)).as_json()}


async def regions(queries: StatsQueries, filters: Filters) -> dict[str, Any]:
    per_region = await queries.regions(filters)
    return {
        **filters.as_json(),
        "regions": [
            {"region": region, "name": REGION_NAMES.get(region, region), **s.as_json()}  # type: ignore[call-overload]
            for region, s in per_region.items()
        ],
    }


async def series(queries: StatsQueries, query: SeriesQuery) -> list[dict[str, Any]] | InvalidParameter:
    """One point per period from `from` to `to`; left open, the days with figures within 2000..2099, at
    most the last 10,000 periods (``series_range``)."""
    metrics = query.metric.counted
    filters = query.filters
    if filters.start is None or filters.end is None:
        bounds = await queries.bounds(metrics)
        if bounds is None:
            return []
        start, end = series_range(query, *bounds)
        if start > end:
            return []
    else:
        start, end = filters.start, filters.end
    too_long = too_many_periods(query, start, end)
    if too_long is not None:
        return too_long
    points: list[tuple[date, int | float | None]]
    if query.metric is SeriesMetric.OPEN_CASES:
        points = list(await queries.open_cases(query.period, start, end, filters))
    else:
        sums = await queries.period_sums(metrics, query.period, start, end, filters)
        points = [(period, _value(query.metric, values)) for period, values in sums]
    return [{"period": period.isoformat(), "value": value} for period, value in points]


def _value(metric: SeriesMetric, values: dict[str, int]) -> int | float | None:
    if metric is SeriesMetric.RETURN_RATE:
        return return_rate(values.get(Metric.VOLUNTARY_RETURNS, 0), values.get(Metric.CASES_OPENED, 0))
    return values.get(metric.counted[0], 0)
