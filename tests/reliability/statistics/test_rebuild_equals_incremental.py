"""The read model built incrementally, through a SIGKILL in the middle of its batches, equals a rebuild
from the topics, equals the pure projection of the events; the gauges do not move across the rebuild."""

from __future__ import annotations

import asyncio
import operator
from functools import partial
from pathlib import Path

import httpx2
import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.domain_events import EventFactory
from tests.support.event_stream import Event, expected_figures, history
from tests.support.statistics import StatisticsUnderTest, statistics_under_test
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

PERSONS = 1200
GAUGES = ("amnesty_cases_opened{", "amnesty_voluntary_returns{", "amnesty_decisions{", "amnesty_open_cases{")


async def _applied(stats: StatisticsUnderTest) -> int:
    if await stats.pool.fetchval("SELECT to_regclass($1)", f'"{stats.schema}".consumer_checkpoints') is None:
        return 0  # not migrated yet
    value = await stats.pool.fetchval(
        f'SELECT coalesce(sum(next_offset), 0) FROM "{stats.schema}".consumer_checkpoints'
    )
    return int(value)


async def _gauges(stats: StatisticsUnderTest) -> list[str]:
    async with httpx2.AsyncClient(base_url=stats.process.url) as http:
        text = (await http.get("/metrics")).text
    return sorted(line for line in text.splitlines() if line.startswith(GAUGES))


QUESTIONS: tuple[tuple[str, dict[str, str]], ...] = (
    ("/v1/stats/regions", {}),
    ("/v1/stats/regions", {"from": "2025-01-01", "to": "2025-03-31"}),
    ("/v1/stats/series", {"metric": "open_cases", "period": "month"}),
    ("/v1/stats/series", {"metric": "voluntary_returns", "period": "week", "region": "unknown"}),
    ("/v1/stats/series", {"metric": "pending", "period": "day"}),
)


async def _answers(stats: StatisticsUnderTest) -> list[object]:
    async with httpx2.AsyncClient(base_url=stats.process.url) as http:
        return [(await http.get(path, params=params)).json() for path, params in QUESTIONS]


async def _current_gauges(stats: StatisticsUnderTest, events: list[Event]) -> list[str]:
    """The gauges once their snapshot has caught up with the read model (all the cases are in)."""
    cases = sum(1 for e in events if e.type == "CaseOpened")
    # A snapshot taken before the last batch may already count every case: the decisions must be in too
    # (each decided return counts once, under the decision in force).
    decided = len(
        {
            (e.submission.source, e.submission.submission_id)
            for e in events
            if e.type.startswith(("Amnesty", "Eligibility"))
        }
    )

    def total(gauges: list[str], name: str) -> float:
        return sum(float(g.split()[-1]) for g in gauges if g.startswith(name))

    def counted(gauges: list[str]) -> bool:
        return (total(gauges, "amnesty_cases_opened{"), total(gauges, "amnesty_decisions{")) == (
            cases,
            decided,
        )

    return await eventually(partial(_gauges, stats), counted)


async def _unchanged_for_a_while(stats: StatisticsUnderTest, gauges: list[str]) -> None:
    for _ in range(4):  # across several refreshes of the snapshot (every 0.5 s here)
        assert await _gauges(stats) == gauges
        await asyncio.sleep(0.4)


async def test_a_killed_projection_and_a_rebuild_come_to_the_same_figures(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    factory = EventFactory()
    events = history(seed=7, persons=PERSONS, factory=factory)
    async with statistics_under_test(endpoints, admin_pool, tmp_path / "statistics.log") as stats:
        await stats.publish(events)
        await stats.launch()
        await eventually(partial(_applied, stats), partial(operator.le, len(events) // 3), timeout_s=90)
        await stats.process.kill()
        assert await _applied(stats) < len(events), "killed in the middle of the stream"
        await stats.process.start()
        await stats.caught_up()

        incremental = await stats.daily_stats()
        assert incremental == expected_figures(events)
        gauges = await _current_gauges(stats, events)
        answers = await _answers(stats)

        output = await stats.rebuild_command()
        assert "version 2 replaces version 1" in output
        assert await stats.active_version() == 2
        assert await stats.daily_stats() == incremental
        await _unchanged_for_a_while(stats, gauges)  # a rebuild leaves the business gauges as they were
        assert await _answers(stats) == answers, "and the API's answers"

        # The running service follows the switch: it drops version 1 and feeds version 2 from where the
        # rebuild stopped.
        await eventually(stats.tables, lambda tables: "daily_stats_v1" not in tables)
        later = history(seed=8, persons=50, factory=factory)
        await stats.publish(later)
        await stats.caught_up()
        assert await stats.daily_stats() == expected_figures(events + later)

        gauges = await _current_gauges(stats, events + later)
        await stats.process.stop()
        await stats.process.start()
        await _unchanged_for_a_while(stats, gauges)  # nor does a restart
        assert await stats.daily_stats() == expected_figures(events + later)
        async with httpx2.AsyncClient(base_url=stats.process.url) as http:
            all_time = (await http.get("/v1/stats/summary")).json()  # from the totals
            every_day = (
                await http.get("/v1/stats/summary", params={"from": "2000-01-01", "to": "2099-12-31"})
            ).json()
        assert all_time | {"from": None, "to": None} == every_day | {"from": None, "to": None}
