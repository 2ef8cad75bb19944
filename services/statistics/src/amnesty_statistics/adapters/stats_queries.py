"""The questions asked of the read model's views: summaries, series, all-time totals for the gauges.

Every query reads the stable views (`daily_stats`, `totals`), so it answers from the active version
whatever a rebuild is doing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import asyncpg

from amnesty_contracts import REGION_NAMES
from amnesty_eventstore import Pool
from amnesty_eventstore.schemas import store_schema
from amnesty_statistics.domain.figures import Metric
from amnesty_statistics.domain.queries import Filters, Period, Summary, summarize

_COUNTED: Final = [m.value for m in Metric if m is not Metric.OPEN_CASES_CHANGE]
_OPEN_CASES: Final = "open_cases"
_FIRST_DAY: Final = date.min
_LAST_DAY: Final = date.max


@dataclass(frozen=True, slots=True)
class Total:
    """An all-time figure of the totals view."""

    metric: str
    region: str
    article: str
    regime: str
    reason: str
    value: int


class StatsQueries:
    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._store = store_schema(schema)

    async def summary(self, filters: Filters) -> Summary:
        if filters.start is None and filters.end is None:
            # All time: the totals, kept per batch, instead of every day.
            rows = await self._pool.fetch(
                self._store.sql(
                    "SELECT CASE WHEN metric = 'open_cases_change' THEN $3 ELSE metric END AS metric, "
                    "regime, reason, sum(value)::bigint AS value FROM {totals} "
                    "WHERE ($1::text IS NULL OR region = $1) AND ($2::text IS NULL OR article = $2) "
                    "GROUP BY 1, 2, 3"
                ),
                filters.region,
                filters.article,
                _OPEN_CASES,
            )
            return _summary([(r["metric"], r["regime"], r["reason"], r["value"]) for r in rows])
        rows = await self._pool.fetch(
            self._store.sql(
                "SELECT metric, regime, reason, sum(value)::bigint AS value FROM {daily_stats} "
                "WHERE metric = ANY($5::text[]) AND day BETWEEN $1 AND $2 "
                "AND ($3::text IS NULL OR region = $3) AND ($4::text IS NULL OR article = $4) "
                "GROUP BY metric, regime, reason "
                "UNION ALL "
                "SELECT $6, '', '', coalesce(sum(value), 0)::bigint FROM {daily_stats} "
                "WHERE metric = 'open_cases_change' AND day <= $2 "
                "AND ($3::text IS NULL OR region = $3) AND ($4::text IS NULL OR article = $4)"
            ),
            filters.start or _FIRST_DAY,
            filters.end or _LAST_DAY,
            filters.region,
            filters.article,
            _COUNTED,
            _OPEN_CASES,
        )
        return _summary([(r["metric"], r["regime"], r["reason"], r["value"]) for r in rows])

    async def regions(self, filters: Filters) -> dict[str, Summary]:
        """The summary of every region (all of Ukraine's, and `unknown` when it has figures)."""
        if filters.start is None and filters.end is None:
            rows = await self._pool.fetch(
                self._store.sql(
                    "SELECT region, CASE WHEN metric = 'open_cases_change' THEN $1 ELSE metric END "
                    "AS metric, regime, reason, sum(value)::bigint AS value FROM {totals} GROUP BY 1, 2, 3, 4"
                ),
                _OPEN_CASES,
            )
        else:
            rows = await self._pool.fetch(
                self._store.sql(
                    "SELECT region, metric, regime, reason, sum(value)::bigint AS value FROM {daily_stats} "
                    "WHERE metric = ANY($3::text[]) AND day BETWEEN $1 AND $2 "
                    "GROUP BY region, metric, regime, reason "
                    "UNION ALL "
                    "SELECT region, $4, '', '', sum(value)::bigint FROM {daily_stats} "
                    "WHERE metric = 'open_cases_change' AND day <= $2 GROUP BY region"
                ),
                filters.start or _FIRST_DAY,
                filters.end or _LAST_DAY,
                _COUNTED,
                _OPEN_CASES,
            )
        per_region: dict[str, list[tuple[str, str, str, int]]] = {code: [] for code in REGION_NAMES}
        for r in rows:
            # Rows of `unknown` can be left at 0 by figures that moved to their case: not a region then.
            if r["value"] or r["region"] in REGION_NAMES:
                per_region.setdefault(r["region"], []).append(
                    (r["metric"], r["regime"], r["reason"], r["value"])
                )
        return {region: _summary(totals) for region, totals in sorted(per_region.items())}

    async def bounds(self, metrics: tuple[Metric, ...]) -> tuple[date, date] | None:
        """The first and last day with figures of ``metrics`` (rows left at 0 by late events do not
        count: a rebuild has none); None when there are none."""
        row = await self._pool.fetchrow(
            self._store.sql(
                "SELECT min(first) AS first, max(last) AS last FROM unnest($1::text[]) AS m(metric), "
                "LATERAL (SELECT min(day) AS first, max(day) AS last FROM {daily_stats} AS d "
                "WHERE d.metric = m.metric AND d.value <> 0) AS b"
            ),
            [m.value for m in metrics],
        )
        if row is None or row["first"] is None:
            return None
        return row["first"], row["last"]

    async def period_sums(
        self, metrics: tuple[Metric, ...], period: Period, start: date, end: date, filters: Filters
    ) -> list[tuple[date, dict[str, int]]]:
        """Every period touching [start, end] (none skipped), with the sums of ``metrics`` over its days
        within the range."""
        rows = await self._pool.fetch(
            self._store.sql(
                "WITH periods AS (SELECT p::date AS period FROM generate_series("
                "date_trunc($1, $2::date::timestamp), $3::date::timestamp, ('1 ' || $1)::interval) AS p), "
                "sums AS (SELECT date_trunc($1, day::timestamp)::date AS period, metric, "
                "sum(value)::bigint AS value "
                "FROM {daily_stats} WHERE metric = ANY($4::text[]) AND day BETWEEN $2 AND $3 "
                "AND ($5::text IS NULL OR region = $5) AND ($6::text IS NULL OR article = $6) GROUP BY 1, 2) "
                "SELECT periods.period, sums.metric, sums.value FROM periods LEFT JOIN sums USING (period) "
                "ORDER BY periods.period"
            ),
            period.value,
            start,
            end,
            [m.value for m in metrics],
            filters.region,
            filters.article,
        )
        return _by_period(rows)

    async def open_cases(
        self, period: Period, start: date, end: date, filters: Filters
    ) -> list[tuple[date, int]]:
        """Every period touching [start, end], with the cases open at its last day (or at ``end``)."""
        rows = await self._pool.fetch(
            self._store.sql(
                "WITH periods AS (SELECT p::date AS period FROM generate_series("
                "date_trunc($1, $2::date::timestamp), $3::date::timestamp, ('1 ' || $1)::interval) AS p), "
                # Changes before the range fold into its first period: open cases are a level, not a flow.
                "changes AS (SELECT date_trunc($1, greatest(day, $2)::timestamp)::date AS period, "
                "sum(value) AS value FROM {daily_stats} WHERE metric = 'open_cases_change' AND day <= $3 "
                "AND ($4::text IS NULL OR region = $4) AND ($5::text IS NULL OR article = $5) GROUP BY 1) "
                "SELECT periods.period, "
                "(sum(coalesce(changes.value, 0)) OVER (ORDER BY periods.period))::bigint AS value "
                "FROM periods LEFT JOIN changes USING (period) ORDER BY periods.period"
            ),
            period.value,
            start,
            end,
            filters.region,
            filters.article,
        )
        return [(r["period"], r["value"]) for r in rows]

    async def totals(self) -> list[Total]:
        """Every all-time figure (open cases: the sum of their changes, i.e. open now)."""
        rows = await self._pool.fetch(
            self._store.sql(
                "SELECT metric, region, article, regime, reason, value FROM {totals} "
                "ORDER BY metric, region, article, regime, reason"
            )
        )
        return [Total(**dict(r)) for r in rows]


def _summary(totals: list[tuple[str, str, str, int]]) -> Summary:
    open_cases = sum(value for metric, _, _, value in totals if metric == _OPEN_CASES)
    return summarize([t for t in totals if t[0] != _OPEN_CASES], open_cases)


def _by_period(rows: Sequence[asyncpg.Record]) -> list[tuple[date, dict[str, int]]]:
    periods: dict[date, dict[str, int]] = {}
    for r in rows:
        values = periods.setdefault(r["period"], {})
        if r["metric"] is not None:
            values[r["metric"]] = r["value"]
    return list(periods.items())


async def save_region_names(pool: Pool, schema: str) -> None:
    """Fill `region_names` from the contract's table of regions."""
    codes = sorted(REGION_NAMES)
    await pool.execute(
        store_schema(schema).sql(
            "INSERT INTO {region_names} (region, name) SELECT * FROM unnest($1::text[], $2::text[]) "
            "ON CONFLICT (region) DO UPDATE SET name = excluded.name"
        ),
        codes,
        [REGION_NAMES[c] for c in codes],
    )
