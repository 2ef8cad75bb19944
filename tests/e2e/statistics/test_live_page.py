"""The live page in headless Chromium: a real statistics process fed through real Kafka topics.

The page must show what the API answers (compared number for number), redraw on the period switch and
the region filter, follow new events without a reload, and log no console error.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.async_api import Browser, Page

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from amnesty_statistics.domain.official_figures import OFFICIAL_RETURNS, WINDOW_OPENED
from tests.support.browser import WatchedPage, chromium, loaded, open_page
from tests.support.domain_events import EventFactory
from tests.support.event_stream import history
from tests.support.statistics import StatisticsUnderTest, statistics_under_test
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

FIGURES = (
    "cases_opened",
    "voluntary_returns",
    "return_rate",
    "amnesties_granted",
    "amnesties_denied",
    "pending",
    "detained",
    "open_cases",
)


@pytest.fixture(scope="module")
async def stats(
    endpoints: Endpoints, admin_pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StatisticsUnderTest]:
    logs = tmp_path_factory.mktemp("live-page") / "statistics.log"
    async with statistics_under_test(endpoints, admin_pool, logs, live_poll_s="0.5") as service:
        await service.process.start()
        await service.publish(history(seed=11, persons=400))
        await service.caught_up()
        yield service


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


@pytest.fixture
async def api(stats: StatisticsUnderTest) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=stats.process.url, timeout=10) as client:
        yield client


@pytest.fixture
async def live(browser: Browser, stats: StatisticsUnderTest) -> AsyncIterator[WatchedPage]:
    watched = await open_page(browser, stats.process.url + "/")
    await loaded(watched.page)
    yield watched
    await watched.page.close()
    assert watched.errors == [], "the page logged errors"


async def _get(api: httpx2.AsyncClient, path: str, **params: str) -> Any:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def shown_figures(page: Page) -> dict[str, str]:
    return {name: await page.get_attribute(f"#figure-{name}", "data-value") or "" for name in FIGURES}


def as_shown(summary: dict[str, Any]) -> dict[str, str]:
    """The summary as the page keeps it in data-value (JavaScript's String() of the JSON value)."""
    return {name: "" if summary[name] is None else _js_string(summary[name]) for name in FIGURES}


def _js_string(value: int | float) -> str:
    return repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))


async def table(page: Page, selector: str) -> list[list[str]]:
    rows: list[list[str]] = await page.eval_on_selector_all(
        f"{selector} tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))",
    )
    return rows


def counted(text: str) -> int:
    return int(text.replace(",", ""))


async def redrawn(page: Page, after: str) -> None:
    """Wait for a load of the figures that finished after ``after`` (the status's data-updated)."""
    await page.wait_for_function(
        "after => (document.getElementById('status').dataset.updated || '') > after", arg=after
    )


async def updated_at(page: Page) -> str:
    return await page.get_attribute("#status", "data-updated") or ""


async def test_the_page_shows_the_figures_the_api_gives(
    live: WatchedPage, api: httpx2.AsyncClient, tmp_path: Path
) -> None:
    page = live.page
    summary = await _get(api, "/v1/stats/summary")
    assert summary["voluntary_returns"] > 100, "the history gives the page something to show"
    assert await shown_figures(page) == as_shown(summary)
    assert await page.inner_text("#figure-voluntary_returns") == f"{summary['voluntary_returns']:,}"

    returns = await _get(api, "/v1/stats/series", metric="voluntary_returns", period="week")
    cases = await _get(api, "/v1/stats/series", metric="cases_opened", period="week")
    shown = {row[0]: (counted(row[1]), counted(row[2])) for row in await table(page, "#flow-table")}
    for point in returns:
        assert shown[point["period"]][1] == point["value"], point
    for point in cases:
        assert shown[point["period"]][0] == point["value"], point

    regions = (await _get(api, "/v1/stats/regions"))["regions"]
    by_name = {r["name"] if r["region"] != "unknown" else "Region unknown": r for r in regions}
    shown_regions = await table(page, "#regions-table")
    assert len(shown_regions) == len(regions)
    for name, new_cases, back, _ in shown_regions:
        expected = by_name[name]
        assert (counted(new_cases), counted(back)) == (
            expected["cases_opened"],
            expected["voluntary_returns"],
        ), name

    since = await _get(
        api, "/v1/stats/series", metric="voluntary_returns", period="day", **{"from": str(WINDOW_OPENED)}
    )
    official_rows = await table(page, "#official-table")
    assert [row[1] for row in official_rows] == [
        f"{'≥' if o.qualifier == 'at_least' else '≈'}{o.value:,}" for o in OFFICIAL_RETURNS
    ]
    for official, row in zip(OFFICIAL_RETURNS, official_rows, strict=True):
        by_then = sum(p["value"] for p in since if p["period"] <= official.on.isoformat())
        assert counted(row[2]) == by_then, official

    await page.screenshot(path=str(tmp_path / "live-page.png"))


async def test_the_period_switch_and_the_region_filter_redraw_from_the_api(
    live: WatchedPage, api: httpx2.AsyncClient
) -> None:
    page = live.page
    before = await updated_at(page)
    await page.get_by_label("Month", exact=True).check()
    await redrawn(page, before)
    months = await _get(api, "/v1/stats/series", metric="voluntary_returns", period="month")
    shown = {row[0]: counted(row[2]) for row in await table(page, "#flow-table")}
    assert {p["period"]: p["value"] for p in months}.items() <= shown.items()
    assert await page.inner_text("#flow-title") == "Returns against new cases, per month"

    before = await updated_at(page)
    await page.get_by_label("Region", exact=True).select_option("UA-48")
    await redrawn(page, before)
    assert await shown_figures(page) == as_shown(await _get(api, "/v1/stats/summary", region="UA-48"))
    assert "region=UA-48" in page.url
    assert "period=month" in page.url
    current = await page.inner_text("#regions-table tr[aria-current=true] th")
    assert current == "Mykolaiv Oblast"


async def test_the_page_follows_new_events_without_a_reload(
    live: WatchedPage, api: httpx2.AsyncClient, stats: StatisticsUnderTest
) -> None:
    page = live.page
    await page.evaluate("window.sameDocument = true")
    before = await _get(api, "/v1/stats/summary")
    f = EventFactory(source="late")
    persons = [f"late-{n}" for n in range(5)]
    opened = [f.case_opened(p, f"{p}-c", "2025-02-03", region="UA-12") for p in persons]
    returned = [f.voluntary_return(p, "2025-02-20") for p in persons]
    await stats.publish(list(itertools.chain(opened, returned, [f.granted(r, "window-1") for r in returned])))
    await stats.caught_up()
    after = await _get(api, "/v1/stats/summary")
    assert after["voluntary_returns"] == before["voluntary_returns"] + 5

    # Cases and decisions reach the read model in separate batches: the page may show a state between
    # them for a moment, and follows until it shows the last one.
    await eventually(lambda: shown_figures(page), lambda shown: shown == as_shown(after), timeout_s=15)
    assert await page.evaluate("window.sameDocument") is True, "the page was not reloaded"
    assert (await page.get_attribute("#status", "data-state")) == "live"
