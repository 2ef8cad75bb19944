"""Intake's HTTP door without infrastructure: its OpenAPI document and its error answers."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from amnesty_contracts import MAX_MESSAGE_BYTES
from amnesty_intake.entrypoint import build_app
from amnesty_intake.entrypoints.http import MAX_BODY_BYTES, MAX_ITEMS, _items, _sources
from amnesty_intake.settings import IntakeSettings
from tests.support.http_api import assert_every_schema_is_typed, assert_problem

from .fake_store import FakeIntakeStore, admission

TOKEN = "unit-token-" + "t" * 24
AUTHORISED = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # Not started: the routes that reach the database fail, which the 500 test relies on.
    return build_app(IntakeSettings(pseudonym_key="unit-key-" + "k" * 32, api_token=TOKEN))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="module")
def openapi(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def test_every_answer_of_intake_has_a_schema(openapi: dict[str, Any]) -> None:
    assert_every_schema_is_typed(openapi)
    assert set(openapi["paths"]) >= {"/v1/submissions", "/healthz", "/readyz", "/metrics", "/asyncapi.json"}


def test_the_submissions_body_is_one_submission_or_an_array_of_them(openapi: dict[str, Any]) -> None:
    body = openapi["paths"]["/v1/submissions"]["post"]["requestBody"]
    assert body["required"] is True
    one = {"$ref": "#/components/schemas/Submission"}
    assert body["content"]["application/json"]["schema"]["oneOf"] == [
        one,
        {"type": "array", "items": one, "maxItems": MAX_ITEMS},
    ]


def _without_null_defaults(node: Any) -> Any:
    # FastAPI writes the OpenAPI document without null values: `"default": null` of optional fields goes.
    if isinstance(node, dict):
        return {k: _without_null_defaults(v) for k, v in node.items() if not (k == "default" and v is None)}
    if isinstance(node, list):
        return [_without_null_defaults(v) for v in node]
    return node


def test_the_submission_schema_is_the_published_contract(openapi: dict[str, Any]) -> None:
    published = json.loads((files("amnesty_contracts") / "schemas" / "upstream.Submission.json").read_text())
    published = _without_null_defaults(published)
    components = json.loads(
        json.dumps(openapi["components"]["schemas"]).replace("#/components/schemas/", "#/$defs/")
    )
    assert components["Submission"]["oneOf"] == published["oneOf"]
    assert components["Submission"]["discriminator"] == published["discriminator"]
    for name, definition in published["$defs"].items():
        assert components[name] == definition, name


def test_the_submissions_answer_is_typed(openapi: dict[str, Any]) -> None:
    result = openapi["components"]["schemas"]["SubmissionResult"]
    assert set(result["properties"]) == {"index", "status", "reason", "detail", "event_id"}
    statuses = openapi["components"]["schemas"]["Verdict"]["enum"]
    assert statuses == ["accepted", "duplicate", "rejected"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]
)
def test_submissions_without_the_token_are_a_401_problem(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/v1/submissions", json={}, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_body_declared_too_large_is_a_413_problem(client: TestClient) -> None:
    headers = AUTHORISED | {"Content-Length": str(MAX_BODY_BYTES + 1)}
    body = assert_problem(client.post("/v1/submissions", content=b"[]", headers=headers), 413)
    assert body["type"] == "urn:amnesty-events:problem:too-large"


def test_a_body_too_large_without_a_declared_length_is_a_413_problem(client: TestClient) -> None:
    chunk = b" " * MAX_MESSAGE_BYTES

    def chunks() -> Any:
        for _ in range(MAX_ITEMS + 1):
            yield chunk

    assert_problem(client.post("/v1/submissions", content=chunks(), headers=AUTHORISED), 413)


def test_too_many_submissions_are_a_413_problem(client: TestClient) -> None:
    response = client.post("/v1/submissions", json=[{}] * (MAX_ITEMS + 1), headers=AUTHORISED)
    body = assert_problem(response, 413)
    assert body["type"] == "urn:amnesty-events:problem:too-many-items"


def test_an_unknown_schema_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/schemas/upstream.Nothing.json"), 404)
    assert_problem(client.get("/v2/submissions"), 404)


def test_a_wrong_method_is_a_405_problem(client: TestClient) -> None:
    assert_problem(client.get("/v1/submissions", headers=AUTHORISED), 405)


def test_a_failure_inside_the_door_is_a_500_problem_without_the_submission(client: TestClient) -> None:
    # The app was never started, so admitting fails: an exception no handler takes.
    response = client.post("/v1/submissions", json={"person_id": "3012345678"}, headers=AUTHORISED)
    assert_problem(response, 500)
    assert "3012345678" not in response.text


def test_an_array_item_sent_within_the_limit_is_judged_within_it() -> None:
    # Written compactly, just under the limit; with json's default separators (a space after each ","
    # and ":") the same item comes out 8,000 bytes larger, beyond it.
    item = {f"k{n:05}": 1 for n in range(4000)} | {"source": "army-plus"}
    compact = json.dumps(item, separators=(",", ":")).encode()
    item["pad"] = "x" * (MAX_MESSAGE_BYTES - len(compact) - len(',"pad":""') - 10)
    body = json.dumps([item], separators=(",", ":")).encode()
    assert len(json.dumps(item).encode()) > MAX_MESSAGE_BYTES

    (incoming,) = _items(body)
    sources = _sources(admission(FakeIntakeStore()).screen([incoming]))

    assert json.loads(incoming.raw) == item
    assert len(incoming.raw) <= MAX_MESSAGE_BYTES
    assert sources == ["army-plus"]


def test_each_item_of_an_array_is_judged_on_the_bytes_its_sender_wrote() -> None:
    """Parsed whole first, one bad item (a NaN here) made the whole body one rejected message, its
    valid items answered by nothing; and a valid item was judged on bytes written out again
    (1e400 came back as Infinity, and was refused)."""
    first = b'{"source": "army-plus", "n": 1}'
    bad = b'{"source": "army-plus", "x": NaN}'
    big = b'{"source": "erdr", "confidence": 1e400}'
    body = b"[" + first + b",\n  " + bad + b" , " + big + b"]"

    incoming = _items(body)
    sources = _sources(admission(FakeIntakeStore()).screen(incoming))

    assert [i.raw for i in incoming] == [first, bad, big]
    assert sources == ["army-plus", None, "erdr"]
