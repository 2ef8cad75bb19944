"""Eligibility's HTTP app (operations only) without infrastructure: typed OpenAPI, problems."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from amnesty_eligibility.entrypoint import build_app
from amnesty_eligibility.settings import EligibilitySettings
from tests.support.http_api import assert_every_schema_is_typed, assert_problem


def test_every_answer_of_eligibility_has_a_schema() -> None:
    document: dict[str, Any] = TestClient(build_app(EligibilitySettings())).get("/openapi.json").json()
    assert_every_schema_is_typed(document)
    assert set(document["paths"]) == {"/healthz", "/readyz", "/metrics"}


def test_errors_of_eligibility_are_problems() -> None:
    app = build_app(EligibilitySettings())

    @app.get("/test-crash")
    async def crash(limit: int) -> None:
        raise RuntimeError("a failure no handler takes")

    client = TestClient(app)
    assert_problem(client.get("/v1/stats/summary"), 404)
    assert_problem(client.put("/readyz"), 405)
    assert (
        assert_problem(client.get("/test-crash", params={"limit": "x"}), 400)["errors"][0]["parameter"]
        == "limit"
    )
    assert_problem(client.get("/test-crash", params={"limit": "1"}), 500)
