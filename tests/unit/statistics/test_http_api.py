"""The statistics API without infrastructure: its OpenAPI document and its error answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from amnesty_statistics.domain.queries import SeriesMetric
from amnesty_statistics.entrypoint import build_app
from amnesty_statistics.settings import StatisticsSettings
from tests.support.http_api import assert_every_schema_is_typed, assert_problem


@pytest.fixture(scope="module")
def client() -> TestClient:
    # Not started: a route that reaches the read model fails, which the 500 test relies on.
    return TestClient(build_app(StatisticsSettings()))


@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def test_every_answer_of_statistics_has_a_schema(openapi: dict[str, Any]) -> None:
    assert_every_schema_is_typed(openapi)


def _ok(openapi: dict[str, Any], path: str) -> dict[str, Any]:
    schema: dict[str, Any] = openapi["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    return schema


def test_the_summary_documents_every_figure_of_the_contract(openapi: dict[str, Any]) -> None:
    assert _ok(openapi, "/v1/stats/summary") == {"$ref": "#/components/schemas/Summary"}
    summary = openapi["components"]["schemas"]["Summary"]
    figures = {m.value for m in SeriesMetric}
    assert figures | {"from", "to", "region", "article"} <= set(summary["properties"])
    assert set(summary["required"]) >= figures


def test_the_series_and_regions_are_typed(openapi: dict[str, Any]) -> None:
    assert _ok(openapi, "/v1/stats/series")["items"] == {"$ref": "#/components/schemas/SeriesPoint"}
    assert set(openapi["components"]["schemas"]["SeriesPoint"]["properties"]) == {"period", "value"}
    assert _ok(openapi, "/v1/stats/regions") == {"$ref": "#/components/schemas/Regions"}
    region = openapi["components"]["schemas"]["RegionFigures"]
    assert {"region", "name", "cases_opened", "return_rate"} <= set(region["properties"])


@pytest.mark.parametrize("path", ["/v1/stats/summary", "/v1/stats/series", "/v1/stats/regions"])
def test_a_bad_parameter_is_documented_as_a_400_problem(openapi: dict[str, Any], path: str) -> None:
    answer = openapi["paths"][path]["get"]["responses"]["400"]["content"]["application/problem+json"]
    assert answer["schema"] == {"$ref": "#/components/schemas/Problem"}


@pytest.mark.parametrize(
    ("path", "params", "parameter", "code"),
    [
        ("/v1/stats/summary", {"from": "2025-13-01"}, "from", "invalid-parameter"),
        ("/v1/stats/series", {"period": "day"}, "metric", "missing-parameter"),
        ("/v1/stats/regions", {"to": "yesterday"}, "to", "invalid-parameter"),
    ],
)
def test_a_bad_parameter_is_a_400_problem_naming_it(
    client: TestClient, path: str, params: dict[str, str], parameter: str, code: str
) -> None:
    body = assert_problem(client.get(path, params=params), 400)
    assert body["type"] == f"urn:amnesty-events:problem:{code}"
    assert [e["parameter"] for e in body["errors"]] == [parameter]
    assert body["detail"].startswith(f"{parameter}: ")
    assert body["instance"] == path


def test_unknown_paths_and_methods_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/stats/nothing"), 404)
    assert_problem(client.get("/static/nothing.js"), 404)
    assert_problem(client.post("/v1/stats/summary"), 405)


def test_a_failure_behind_the_api_is_a_500_problem(client: TestClient) -> None:
    assert_problem(client.get("/v1/stats/summary"), 500)
