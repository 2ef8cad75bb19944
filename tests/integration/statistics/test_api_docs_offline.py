"""The API docs work with no way out: Swagger UI renders the document from the service alone.

A real statistics process and Debian's Chromium; every request the page makes to another origin is
recorded and refused, as it would fail on a machine without the internet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Route

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.browser import chromium
from tests.support.statistics import StatisticsUnderTest, statistics_under_test

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def stats(
    endpoints: Endpoints, admin_pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StatisticsUnderTest]:
    logs = tmp_path_factory.mktemp("statistics") / "statistics.log"
    async with statistics_under_test(endpoints, admin_pool, logs) as service:
        await service.process.start()
        yield service


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


async def test_the_docs_render_the_api_without_the_internet(
    browser: Browser, stats: StatisticsUnderTest
) -> None:
    context = await browser.new_context()
    elsewhere: list[str] = []

    async def only_the_service(route: Route) -> None:
        if route.request.url.startswith(stats.process.url):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_the_service)
    try:
        tab = await context.new_page()
        await tab.goto(stats.process.url + "/docs")
        # Drawn from /openapi.json: an operation's summary is there only once the document is rendered.
        await tab.get_by_text("Get Summary").first.wait_for(timeout=30_000)
        assert await tab.locator(".opblock").count() >= 6, "every operation drawn"
    finally:
        await context.close()
    assert elsewhere == []
