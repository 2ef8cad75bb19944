"""The statistics API cannot be made to run away: dates out of range are a 400, an API query has a
short statement timeout on a pool of its own, and a client that goes away cancels its query.

A real statistics process on the real PostgreSQL. A slow query is made by holding a lock on the read
model's table (what a long rebuild or a pathological plan would do to the API's queries).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from amnesty_statistics.entrypoint import API_APPLICATION_NAME
from tests.support.statistics import StatisticsUnderTest, statistics_under_test
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

API_POOL_SIZE = 2
SLOW_QUERY = "/v1/stats/summary?from=2025-01-01&to=2025-12-31"


@pytest.fixture(scope="module")
async def stats(
    endpoints: Endpoints, admin_pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StatisticsUnderTest]:
    logs = tmp_path_factory.mktemp("statistics") / "statistics.log"
    async with statistics_under_test(
        endpoints,
        admin_pool,
        logs,
        api_pool_size=str(API_POOL_SIZE),
        api_statement_timeout_s="2",
        api_disconnect_poll_s="0.1",
    ) as service:
        await service.process.start()
        yield service


@asynccontextmanager
async def read_model_locked(admin_pool: Pool, schema: str) -> AsyncIterator[None]:
    """The read model's tables locked against readers until the block ends."""
    async with admin_pool.acquire() as conn, conn.transaction():
        await conn.execute(f'LOCK TABLE "{schema}".daily_stats IN ACCESS EXCLUSIVE MODE')
        yield


async def api_queries(admin_pool: Pool, schema: str) -> list[int]:
    """The backends of the API pool running a query on the read model."""
    rows = await admin_pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' "
        "AND query LIKE '%daily_stats%' AND query LIKE $2",
        API_APPLICATION_NAME,
        f'%"{schema}"%',
    )
    return [r["pid"] for r in rows]


ENDPOINT_DATES = [
    (path, parameter)
    for path in ("/v1/stats/summary", "/v1/stats/series?metric=cases_opened&period=day", "/v1/stats/regions")
    for parameter in ("from", "to")
]


@pytest.mark.parametrize(("path", "parameter"), ENDPOINT_DATES)
@pytest.mark.parametrize("value", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"])
async def test_a_date_out_of_the_plausible_years_is_a_400_naming_it(
    stats: StatisticsUnderTest, path: str, parameter: str, value: str
) -> None:
    joiner = "&" if "?" in path else "?"
    async with httpx2.AsyncClient(base_url=stats.process.url, timeout=10) as http:
        answer = await http.get(f"{path}{joiner}{parameter}={value}")
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["parameter"] == parameter


async def test_the_live_page_takes_no_date_and_its_data_comes_from_the_bounded_api(
    stats: StatisticsUnderTest,
) -> None:
    async with httpx2.AsyncClient(base_url=stats.process.url, timeout=10) as http:
        page = await http.get("/", params={"from": "0001-01-01", "to": "9999-12-31"})
        document = (await http.get("/openapi.json")).json()
    assert page.status_code == 200
    dated = {
        path
        for path, operations in document["paths"].items()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"] in {"from", "to"}
    }
    assert dated == {"/v1/stats/summary", "/v1/stats/series", "/v1/stats/regions"}


async def test_a_runaway_api_query_is_cut_by_its_statement_timeout_and_spares_the_projection_pool(
    stats: StatisticsUnderTest, admin_pool: Pool
) -> None:
    async with (
        read_model_locked(admin_pool, stats.schema),
        httpx2.AsyncClient(base_url=stats.process.url, timeout=60) as http,
    ):
        slow = [asyncio.create_task(http.get(SLOW_QUERY)) for _ in range(API_POOL_SIZE + 3)]
        await eventually(lambda: api_queries(admin_pool, stats.schema), lambda p: len(p) == API_POOL_SIZE)
        # Every API connection is stuck; the service's own pool is not, so it still answers readiness.
        assert len(await api_queries(admin_pool, stats.schema)) == API_POOL_SIZE
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        answers = await asyncio.gather(*slow)
    assert {a.status_code for a in answers} == {503}
    assert {a.json()["type"].rsplit(":", 1)[-1] for a in answers} == {"query-timeout"}


async def test_a_client_that_goes_away_cancels_its_query(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    # A statement timeout far longer than the test: only the cancellation can end the query.
    async with statistics_under_test(
        endpoints,
        admin_pool,
        tmp_path / "statistics.log",
        api_statement_timeout_s="600",
        api_disconnect_poll_s="0.1",
    ) as patient:
        await patient.process.start()
        async with read_model_locked(admin_pool, patient.schema):
            async with httpx2.AsyncClient(base_url=patient.process.url, timeout=600) as http:
                request = asyncio.create_task(http.get(SLOW_QUERY))
                (pid,) = await eventually(lambda: api_queries(admin_pool, patient.schema), bool)
                request.cancel()  # the client gives up: httpx closes the connection
                with pytest.raises(asyncio.CancelledError):
                    await request
            # Still locked: the query cannot have finished, it was cancelled on the server.
            await eventually(
                lambda: admin_pool.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid),
                lambda state: state != "active",
            )
