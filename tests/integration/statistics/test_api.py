"""The statistics API against known events: a real service process fed through real Kafka topics.

The story, by person (ISO week 2025-W01 runs from Monday 2024-12-30 to Sunday 2025-01-05):

| person | case (region, article, registered) | then |
| --- | --- | --- |
| p1 | c1 UA-48 407 2024-12-30 | returns 2025-01-02, granted window-1 |
| p2 | c2 UA-48 408 2025-01-01 | returns 2025-01-05, denied outside-window |
| p3 | c3 UA-30 407 2025-01-06 | still absent |
| p4 | (none yet) | returns 2025-01-03 reporting region UA-30: pending |
| p5 | c5 UA-30 407 2024-12-31 | detained 2025-02-10 |
| p6 | c6 UA-48 407 2025-01-02 | reclassified 408 on 2025-01-20, returns 2025-02-01, granted then revoked |
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from amnesty_contracts import CaseEvent, DecisionEvent
from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.domain_events import EventFactory
from tests.support.http_api import (
    assert_every_schema_is_typed,
    assert_problem,
)
from tests.support.statistics import StatisticsUnderTest, statistics_under_test
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

CONSUMED = "amnesty_messages_consumed_total"


def story(f: EventFactory) -> list[CaseEvent | DecisionEvent]:
    r1, r2 = f.voluntary_return("p1", "2025-01-02"), f.voluntary_return("p2", "2025-01-05")
    r4, r6 = f.voluntary_return("p4", "2025-01-03", region="UA-30"), f.voluntary_return("p6", "2025-02-01")
    grant6 = f.granted(r6, "window-1")
    return [
        f.case_opened("p1", "c1", "2024-12-30", region="UA-48", article="407"),
        r1,
        f.granted(r1, "window-1"),
        f.case_opened("p2", "c2", "2025-01-01", region="UA-48", article="408"),
        r2,
        f.denied(r2, "outside-window"),
        f.case_opened("p3", "c3", "2025-01-06", region="UA-30", article="407"),
        r4,
        f.pending(r4),
        f.case_opened("p5", "c5", "2024-12-31", region="UA-30", article="407"),
        f.detained("p5", "2025-02-10"),
        f.case_opened("p6", "c6", "2025-01-02", region="UA-48", article="407"),
        f.reclassified("p6", "c6", "408", "2025-01-20"),
        r6,
        grant6,
        f.revoked(r6, grant6, "repeat-offence"),
    ]


@pytest.fixture(scope="module")
async def stats(
    endpoints: Endpoints, admin_pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StatisticsUnderTest]:
    logs = tmp_path_factory.mktemp("statistics") / "statistics.log"
    async with statistics_under_test(endpoints, admin_pool, logs) as service:
        await service.process.start()
        await service.publish(story(EventFactory()))
        await service.publish_raw(service.cases, [b"{not json"])  # skipped, counted, and what follows is read
        await service.caught_up()
        yield service


@pytest.fixture
async def http(stats: StatisticsUnderTest) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=stats.process.url, timeout=10) as client:
        yield client


async def _get(http: httpx2.AsyncClient, path: str, **params: str) -> Any:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_summary_of_all_time(http: httpx2.AsyncClient) -> None:
    assert await _get(http, "/v1/stats/summary") == {
        "from": None,
        "to": None,
        "region": None,
        "article": None,
        "cases_opened": 5,
        "voluntary_returns": 4,
        "detained": 1,
        "amnesties_granted": 1,
        "amnesties_granted_by_regime": {"window-1": 1},
        "amnesties_denied": 1,
        "amnesties_denied_by_reason": {"outside-window": 1},
        "pending": 1,
        "revoked": 1,
        "open_cases": 1,
        "return_rate": 0.8,
    }


async def test_the_summary_of_a_month_counts_its_days_and_the_cases_open_at_its_end(
    http: httpx2.AsyncClient,
) -> None:
    summary = await _get(http, "/v1/stats/summary", **{"from": "2025-01-01", "to": "2025-01-31"})
    assert summary | {"amnesties_granted_by_regime": None, "amnesties_denied_by_reason": None} == {
        "from": "2025-01-01",
        "to": "2025-01-31",
        "region": None,
        "article": None,
        "cases_opened": 3,
        "voluntary_returns": 3,
        "detained": 0,
        "amnesties_granted": 1,
        "amnesties_granted_by_regime": None,
        "amnesties_denied": 1,
        "amnesties_denied_by_reason": None,
        "pending": 1,
        "revoked": 0,
        "open_cases": 3,
        "return_rate": 1.0,
    }


async def test_the_summary_of_a_region_and_of_an_article(http: httpx2.AsyncClient) -> None:
    region = await _get(http, "/v1/stats/summary", region="UA-30")
    assert (region["cases_opened"], region["voluntary_returns"], region["detained"]) == (2, 1, 1)
    assert (region["pending"], region["open_cases"], region["return_rate"]) == (1, 1, 0.5)
    desertion = await _get(http, "/v1/stats/summary", article="408")
    # c6 was opened under 407; from its reclassification on, its return and revocation count under 408.
    assert (desertion["cases_opened"], desertion["voluntary_returns"], desertion["revoked"]) == (1, 2, 1)
    assert (desertion["amnesties_denied"], desertion["open_cases"]) == (1, 0)
    nothing = await _get(http, "/v1/stats/summary", region="UA-05")
    assert (nothing["cases_opened"], nothing["return_rate"]) == (0, None)


async def test_a_weekly_series_puts_new_years_week_in_2025_w01(http: httpx2.AsyncClient) -> None:
    series = await _get(
        http,
        "/v1/stats/series",
        metric="cases_opened",
        period="week",
        **{"from": "2024-12-30", "to": "2025-01-12"},
    )
    assert series == [{"period": "2024-12-30", "value": 4}, {"period": "2025-01-06", "value": 1}]


async def test_a_daily_series_has_every_day_zeros_included(http: httpx2.AsyncClient) -> None:
    series = await _get(
        http,
        "/v1/stats/series",
        metric="voluntary_returns",
        period="day",
        **{"from": "2025-01-01", "to": "2025-01-06"},
    )
    assert series == [
        {"period": "2025-01-01", "value": 0},
        {"period": "2025-01-02", "value": 1},
        {"period": "2025-01-03", "value": 1},
        {"period": "2025-01-04", "value": 0},
        {"period": "2025-01-05", "value": 1},
        {"period": "2025-01-06", "value": 0},
    ]


async def test_a_monthly_series_of_all_time_spans_the_figures(http: httpx2.AsyncClient) -> None:
    assert await _get(http, "/v1/stats/series", metric="cases_opened", period="month") == [
        {"period": "2024-12-01", "value": 2},
        {"period": "2025-01-01", "value": 3},
    ]
    assert await _get(
        http,
        "/v1/stats/series",
        metric="return_rate",
        period="month",
        **{"from": "2024-12-01", "to": "2025-02-28"},
    ) == [
        {"period": "2024-12-01", "value": 0.0},
        {"period": "2025-01-01", "value": 1.0},
        {"period": "2025-02-01", "value": None},
    ]


async def test_open_cases_are_a_level_at_the_end_of_each_period(http: httpx2.AsyncClient) -> None:
    series = await _get(
        http,
        "/v1/stats/series",
        metric="open_cases",
        period="week",
        **{"from": "2025-01-01", "to": "2025-02-16"},
    )
    # In the first week: c1, c5 (before the range), c2, c6 opened; c1 and c2 ended.
    assert [p["value"] for p in series] == [2, 3, 3, 3, 2, 2, 1]
    assert series[0]["period"] == "2024-12-30"


async def test_the_regions_have_a_summary_each(http: httpx2.AsyncClient) -> None:
    regions = await _get(http, "/v1/stats/regions")
    by_code = {r["region"]: r for r in regions["regions"]}
    assert len(by_code) == 27, "every region of Ukraine, and no unknown one in this story"
    assert by_code["UA-48"]["name"] == "Mykolaiv Oblast"
    assert (by_code["UA-48"]["cases_opened"], by_code["UA-48"]["voluntary_returns"]) == (3, 3)
    assert (by_code["UA-30"]["cases_opened"], by_code["UA-30"]["open_cases"]) == (2, 1)
    assert by_code["UA-05"]["cases_opened"] == 0
    january = await _get(http, "/v1/stats/regions", **{"from": "2025-01-01", "to": "2025-01-31"})
    assert {r["region"]: r["voluntary_returns"] for r in january["regions"] if r["voluntary_returns"]} == {
        "UA-48": 2,
        "UA-30": 1,
    }


@pytest.mark.parametrize(
    ("path", "params", "parameter", "error"),
    [
        ("/v1/stats/summary", {"from": "2025-13-01"}, "from", "invalid-parameter"),
        ("/v1/stats/summary", {"to": "tomorrow"}, "to", "invalid-parameter"),
        ("/v1/stats/summary", {"from": "2025-02-01", "to": "2025-01-01"}, "from", "invalid-parameter"),
        ("/v1/stats/summary", {"region": "UA-99"}, "region", "invalid-parameter"),
        ("/v1/stats/summary", {"article": "409"}, "article", "invalid-parameter"),
        ("/v1/stats/series", {"period": "day"}, "metric", "missing-parameter"),
        ("/v1/stats/series", {"metric": "returns", "period": "day"}, "metric", "invalid-parameter"),
        ("/v1/stats/series", {"metric": "pending", "period": "year"}, "period", "invalid-parameter"),
        (
            "/v1/stats/series",
            {"metric": "pending", "period": "day", "from": "0001-01-01"},
            "from",
            "invalid-parameter",
        ),
        ("/v1/stats/regions", {"to": "2025-02-30"}, "to", "invalid-parameter"),
        # Once a 500 (to) and a query running into the statement timeout (from): now refused at once.
        (
            "/v1/stats/series",
            {"metric": "cases_opened", "period": "day", "to": "9999-12-31"},
            "to",
            "invalid-parameter",
        ),
        (
            "/v1/stats/series",
            {"metric": "cases_opened", "period": "day", "from": "0001-01-01", "to": "0001-03-01"},
            "from",
            "invalid-parameter",
        ),
        ("/v1/stats/summary", {"to": "9999-12-31"}, "to", "invalid-parameter"),
    ],
)
async def test_a_bad_parameter_is_a_400_naming_it(
    http: httpx2.AsyncClient, path: str, params: dict[str, str], parameter: str, error: str
) -> None:
    body = assert_problem(await http.get(path, params=params), 400)
    assert body["type"] == f"urn:amnesty-events:problem:{error}"
    assert [e["parameter"] for e in body["errors"]] == [parameter]
    assert body["detail"]


async def test_metrics_carry_the_business_gauges_and_the_lag(
    http: httpx2.AsyncClient, stats: StatisticsUnderTest
) -> None:
    async def scrape() -> str:
        return str((await http.get("/metrics")).text)

    text = await eventually(
        scrape, lambda t: 'amnesty_projection_lag_seconds{projection="statistics"} 0.0' in t
    )
    for sample in (
        'amnesty_cases_opened{article="407",region="UA-48"} 2.0',
        'amnesty_cases_opened{article="408",region="UA-48"} 1.0',
        'amnesty_cases_opened{article="407",region="UA-30"} 2.0',
        'amnesty_voluntary_returns{region="UA-48"} 3.0',
        'amnesty_voluntary_returns{region="UA-30"} 1.0',
        'amnesty_decisions{decision="granted",reason="",regime="window-1"} 1.0',
        'amnesty_decisions{decision="denied",reason="outside-window",regime=""} 1.0',
        'amnesty_decisions{decision="pending",reason="case-unknown",regime=""} 1.0',
        'amnesty_decisions{decision="revoked",reason="repeat-offence",regime="window-1"} 1.0',
        'amnesty_open_cases{region="UA-30"} 1.0',
        'amnesty_open_cases{region="UA-48"} 0.0',
        f'{CONSUMED}{{service="statistics",topic="{stats.cases}",type="CaseOpened"}} 5.0',
        f'{CONSUMED}{{service="statistics",topic="{stats.decisions}",type="AmnestyRevoked"}} 1.0',
        'amnesty_messages_rejected_total{reason="invalid-json",service="statistics"} 1.0',
    ):
        assert sample in text
    assert 'amnesty_handler_seconds_count{service="statistics",type="VoluntaryReturn"} 4.0' in text
    assert not [p for p in ("p1", "p2", "p3", "p4", "p5", "p6", "c1") if f'"{p}"' in text], (
        "no person in labels"
    )
    assert (await http.get("/readyz")).json()["status"] == "ready"


def _requests(exposition: str, route: str, status: str) -> float:
    labels = f'method="GET",route="{route}",service="statistics",status="{status}"'
    prefix = f"amnesty_http_requests_total{{{labels}}} "
    values = [float(line.removeprefix(prefix)) for line in exposition.splitlines() if line.startswith(prefix)]
    return values[0] if values else 0.0


async def test_http_requests_are_counted_by_route_template_and_status(http: httpx2.AsyncClient) -> None:
    before = (await http.get("/metrics")).text
    await _get(http, "/v1/stats/summary", region="UA-48")
    await http.get("/v1/stats/summary", params={"region": "UA-99"})
    after = (await http.get("/metrics")).text
    for status in ("200", "400"):
        assert (
            _requests(after, "/v1/stats/summary", status)
            == _requests(before, "/v1/stats/summary", status) + 1
        )
    assert (
        'amnesty_http_request_seconds_count{method="GET",route="/v1/stats/summary",service="statistics"}'
        in after
    )


async def test_the_served_openapi_is_typed_and_its_docs_are_served_locally(http: httpx2.AsyncClient) -> None:
    assert_every_schema_is_typed((await http.get("/openapi.json")).json())
    page = (await http.get("/docs")).text
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert asset in page
        assert (await http.get(asset)).status_code == 200
