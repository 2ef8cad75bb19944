"""The live page's server side: GET / and its assets, and the server-sent events of GET /v1/stats/stream,
on a real statistics process fed through real Kafka topics."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.domain_events import EventFactory
from tests.support.statistics import StatisticsUnderTest, statistics_under_test

pytestmark = pytest.mark.integration


@pytest.fixture
async def stats(endpoints: Endpoints, admin_pool: Pool, tmp_path: Any) -> AsyncIterator[StatisticsUnderTest]:
    async with statistics_under_test(
        endpoints, admin_pool, tmp_path / "statistics.log", live_poll_s="0.2"
    ) as s:
        await s.process.start()
        yield s


async def events(response: httpx2.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a text/event-stream; comments (pings) skipped."""
    name, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data += line.removeprefix("data:").strip()
        elif line == "" and data:
            yield name, json.loads(data)
            name, data = "message", ""


async def until(
    received: AsyncIterator[tuple[str, dict[str, Any]]],
    done: Callable[[dict[str, Any]], bool],
    *,
    first: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The first `changed` totals (``first`` included) for which ``done`` holds, within 10 s."""
    totals = first
    async with asyncio.timeout(10):
        while totals is None or not done(totals):
            name, totals = await anext(received)
            assert name == "changed"
    return totals


async def test_the_stream_sends_the_totals_at_once_and_again_when_events_arrive(
    stats: StatisticsUnderTest,
) -> None:
    f = EventFactory()
    returned = f.voluntary_return("p1", "2025-01-02")
    await stats.publish([f.case_opened("p1", "c1", "2024-12-30"), returned, f.granted(returned)])
    await stats.caught_up()
    async with (
        httpx2.AsyncClient(base_url=stats.process.url, timeout=10) as http,
        http.stream("GET", "/v1/stats/stream") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        received = events(response)
        name, totals = await asyncio.wait_for(anext(received), 10)
        assert name == "changed"
        # The first event is the feed's latest poll, which may predate the batch just applied.
        totals = await until(received, lambda t: t["voluntary_returns"] == 1, first=totals)
        assert totals == (await http.get("/v1/stats/summary")).json()
        assert totals["amnesties_granted"] == 1

        second = f.voluntary_return("p2", "2025-01-03", region="UA-30")
        await stats.publish([second, f.pending(second)])
        totals = await until(received, lambda t: t["pending"] == 1)
        assert totals == (await http.get("/v1/stats/summary")).json()
        assert totals["voluntary_returns"] == 2


async def test_the_page_and_its_assets_come_from_the_service(stats: StatisticsUnderTest) -> None:
    async with httpx2.AsyncClient(base_url=stats.process.url, timeout=10) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "Voluntary returns and the amnesty" in page.text
        for path, kind in (
            ("/static/live.js", "javascript"),
            ("/static/live.css", "text/css"),
            ("/static/vendor/chart.umd.min.js", "javascript"),
        ):
            asset = await http.get(path)
            assert asset.status_code == 200, path
            assert kind in asset.headers["content-type"], path


async def test_an_open_stream_does_not_hold_up_a_graceful_stop(stats: StatisticsUnderTest) -> None:
    async with (
        httpx2.AsyncClient(base_url=stats.process.url, timeout=10) as http,
        http.stream("GET", "/v1/stats/stream") as response,
    ):
        await asyncio.wait_for(anext(events(response)), 10)
        started = time.monotonic()
        await stats.process.stop()
        assert time.monotonic() - started < 10
    assert "Application shutdown complete" in stats.process.log.read_text(), "the lifespan's shutdown ran"
