"""Every query of the generated Grafana dashboards answers with data from the running system.

The three services run as real processes on fresh topics and schemas, submissions flow through them,
and a real Prometheus scrapes them with the job names of deploy/prometheus/prometheus.yml. Every PromQL
expression of the dashboards must return a non-empty vector there; every SQL query (panels and
variables) must return rows from the statistics read models, as Grafana's PostgreSQL data source would
run it (macros and variables substituted).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support import dashboards
from tests.support.intake import TOKEN, encoded, submission
from tests.support.pipeline import Pipeline, pipeline_under_test
from tests.support.prometheus import PrometheusUnderTest, prometheus_under_test
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

ALERT_RULES = sorted((Path(__file__).parents[3] / "deploy" / "prometheus" / "rules").glob("*.rules.yml"))
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)


def person(n: int) -> str:
    return f"30{n:08d}"


def case_number(n: int) -> str:
    return f"1202410{n:010d}"


def history() -> list[dict[str, Any]]:
    """Cases in two regions and both articles; returns in both windows and outside them; a detention;
    a return before its case (pending, then decided); one submission that is rejected."""
    items: list[dict[str, Any]] = []
    windows = ["2024-12-10", "2025-02-01", "2025-06-15", "2025-10-01"]
    for n in range(12):
        registered = "2025-04-20" if n % 4 == 2 else "2024-11-10"
        items.append(
            submission(
                person_id=person(n),
                case_number=case_number(n),
                article="408" if n % 3 == 0 else "407",
                absent_since="2024-10-01" if n % 4 != 2 else "2025-04-01",
                registered_on=registered,
                region="UA-48" if n % 2 else "UA-30",
            )
        )
        if n < 8:
            items.append(submission("VoluntaryReturn", person_id=person(n), returned_on=windows[n % 4]))
    items.append(submission("Detained", person_id=person(9), detained_on="2025-03-03"))
    items.append(submission("VoluntaryReturn", person_id=person(20), returned_on="2025-01-05"))
    items.append(submission("CaseOpened", person_id=person(21), case_number="not-a-case-number"))
    return items


@pytest.fixture(scope="module")
async def system(
    endpoints: Endpoints, admin_pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Pipeline]:
    async with pipeline_under_test(endpoints, admin_pool, tmp_path_factory.mktemp("dashboards")) as pipeline:
        await pipeline.start()
        async with httpx2.AsyncClient(
            base_url=pipeline.intake.process.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        ) as http:
            answer = (await http.post("/v1/submissions", json=history())).json()
        assert [r["status"] for r in answer["results"]].count("rejected") == 1, answer
        await pipeline.intake.publish([b"{not json", encoded({"type": "Unheard-of"})])

        async with httpx2.AsyncClient(base_url=pipeline.statistics.process.url, timeout=10) as http:

            async def summary() -> dict[str, Any]:
                return dict((await http.get("/v1/stats/summary")).json())

            await eventually(
                summary,
                lambda s: s["voluntary_returns"] == 9 and s["amnesties_granted"] >= 4 and s["detained"] == 1,
                timeout_s=60,
            )
        yield pipeline


@pytest.fixture(scope="module")
async def prometheus(
    system: Pipeline, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PrometheusUnderTest]:
    services = {
        "intake": system.intake.process,
        "eligibility": system.eligibility.process,
        "statistics": system.statistics.process,
    }
    targets = {job: f"127.0.0.1:{service.port}" for job, service in services.items()}
    async with prometheus_under_test(targets, tmp_path_factory.mktemp("prometheus"), ALERT_RULES) as server:
        yield server


def test_the_dashboards_query_both_data_sources() -> None:
    promql, sql = dashboards.queries(dashboards.PROMETHEUS_UID), dashboards.queries(dashboards.POSTGRES_UID)
    assert {q.dashboard for q in promql} == {"amnesty-returns", "amnesty-operations"}
    assert {q.dashboard for q in sql} == {"amnesty-returns"}
    assert len(promql) >= 15
    assert len(sql) >= 15
    assert {q.kind for q in sql} >= {"stat", "timeseries", "table", "barchart", "variable", "annotation"}


async def test_every_promql_expression_returns_data(prometheus: PrometheusUnderTest) -> None:
    expressions = {dashboards.promql(q.text): q for q in dashboards.queries(dashboards.PROMETHEUS_UID)}

    async def empty() -> list[str]:
        return [
            f"{q.dashboard} / {q.where}: {expr}"
            for expr, q in expressions.items()
            if not await prometheus.query(expr)
        ]

    # A rate needs two scrapes of a series, so the first seconds may still leave some empty.
    await eventually(empty, lambda left: not left, timeout_s=30)


async def test_the_alert_rules_evaluate_on_the_real_metrics_and_stay_quiet(
    prometheus: PrometheusUnderTest,
) -> None:
    async def scraped() -> list[dict[str, Any]]:
        return await prometheus.query('up{job=~"intake|eligibility|statistics"} == 1')

    await eventually(scraped, lambda up: len(up) == 3, timeout_s=30)
    since = datetime.now(UTC)

    async def evaluated() -> list[dict[str, Any]]:
        return await prometheus.alert_rules()

    # Evaluated after every service was scraped, so that each rule has seen the real series.
    rules = await eventually(
        evaluated,
        lambda rules: (
            bool(rules)
            and all(
                r["health"] == "ok" and datetime.fromisoformat(r["lastEvaluation"]) > since for r in rules
            )
        ),
        timeout_s=30,
    )

    assert len(rules) == sum(len(alert_names(path)) for path in ALERT_RULES)
    # A healthy system, a few rejections in it: no alert even pending.
    assert {r["name"]: r["state"] for r in rules if r["state"] != "inactive"} == {}


def alert_names(path: Path) -> list[str]:
    return re.findall(r"^\s*- alert: (\w+)", path.read_text(), flags=re.MULTILINE)


async def all_of(variable: str, admin_pool: Pool, schema: str) -> list[str]:
    """The values Grafana puts for a filter's "All": every option of the variable."""
    definition = dashboards.variables(dashboards.dashboards()["amnesty-returns"])[variable]
    if definition["type"] == "custom":
        return [o["value"] for o in definition["options"] if o["value"] != "$__all"]
    rows = await admin_pool.fetch(
        dashboards.sql(definition["query"], schema=schema, start=START, end=END, variables={})
    )
    return [row["__value"] for row in rows]


async def run(query: dashboards.Query, admin_pool: Pool, schema: str, variables: dict[str, Any]) -> list[Any]:
    text = dashboards.sql(query.text, schema=schema, start=START, end=END, variables=variables)
    return list(await admin_pool.fetch(text))


@pytest.mark.parametrize("period", ["day", "week", "month"])
async def test_every_sql_query_returns_rows_from_the_read_models(
    system: Pipeline, admin_pool: Pool, period: str
) -> None:
    schema = system.statistics.schema
    regions, articles = (
        await all_of("region", admin_pool, schema),
        await all_of("article", admin_pool, schema),
    )
    assert {"UA-48", "UA-30", "unknown"} <= set(regions)
    empty = []
    for query in dashboards.queries(dashboards.POSTGRES_UID):
        everything = {"period": period, "region": regions, "article": articles}
        if not await run(query, admin_pool, schema, everything):
            empty.append(f"{query.dashboard} / {query.where}")
        for region, article in ((["UA-48"], ["407"]), (["UA-48", "UA-30"], ["407", "408"])):
            await run(query, admin_pool, schema, {"period": period, "region": region, "article": article})
    assert empty == []


# What each SQL stat of amnesty-returns shows, by its name in the statistics API's summary.
STAT_FIGURES = {
    "Voluntary returns": "voluntary_returns",
    "Cases opened": "cases_opened",
    "Return rate": "return_rate",
    "Granted": "amnesties_granted",
    "Denied": "amnesties_denied",
    "Pending": "pending",
    "Absent at the end": "open_cases",
}


async def stat_values(admin_pool: Pool, schema: str, region: list[str], article: list[str]) -> dict[str, Any]:
    values = {}
    for query in dashboards.queries(dashboards.POSTGRES_UID):
        if query.kind == "stat":
            [row] = await run(query, admin_pool, schema, {"region": region, "article": article})
            # PostgreSQL's sum of bigint is numeric (a Decimal here); the API answers JSON numbers.
            values[query.where] = None if row[0] is None else float(row[0])
    return values


async def test_the_stats_show_the_apis_summary_for_the_same_range_and_filters(
    system: Pipeline, admin_pool: Pool
) -> None:
    schema = system.statistics.schema
    regions, articles = (
        await all_of("region", admin_pool, schema),
        await all_of("article", admin_pool, schema),
    )
    period = {"from": START.date().isoformat(), "to": END.date().isoformat()}
    scopes = [(regions, articles, {}), (["UA-48"], ["407"], {"region": "UA-48", "article": "407"})]
    async with httpx2.AsyncClient(base_url=system.statistics.process.url, timeout=10) as http:
        for region, article, filters in scopes:
            summary = (await http.get("/v1/stats/summary", params=period | filters)).json()
            shown = await stat_values(admin_pool, schema, region, article)

            assert shown.keys() == STAT_FIGURES.keys()
            assert summary["voluntary_returns"] > 0, filters
            for title, figure in STAT_FIGURES.items():
                assert shown[title] == pytest.approx(summary[figure]), (title, filters)


async def test_choosing_two_regions_adds_up_the_two(system: Pipeline, admin_pool: Pool) -> None:
    schema = system.statistics.schema
    articles = await all_of("article", admin_pool, schema)
    both = await stat_values(admin_pool, schema, ["UA-48", "UA-30"], articles)
    one, other = [await stat_values(admin_pool, schema, [r], articles) for r in ("UA-48", "UA-30")]

    assert one["Voluntary returns"] > 0
    assert other["Voluntary returns"] > 0
    for title in ("Voluntary returns", "Cases opened", "Granted", "Absent at the end"):
        assert both[title] == one[title] + other[title], title


async def test_the_windows_annotation_marks_the_three_amnesty_windows(
    system: Pipeline, admin_pool: Pool
) -> None:
    [annotation] = [q for q in dashboards.queries(dashboards.POSTGRES_UID) if q.kind == "annotation"]

    rows = await run(annotation, admin_pool, system.statistics.schema, {})

    assert [row["tags"].split(",")[-1] for row in rows] == ["window-1", "window-2", "pilot-2026"]
    assert all(row["time"] < row["timeend"] for row in rows)
