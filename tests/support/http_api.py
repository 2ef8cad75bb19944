"""Checks of a service's HTTP app that every service's tests share: its OpenAPI document, its problems."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, checks
from schemathesis.core.result import Ok

Operation = APIOperation[Any, Any, Any, Any]

PROBLEM_JSON = "application/problem+json"


def response_schemas(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (where, schema) of every response and request body of every operation."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                where = f"{method.upper()} {path} {status}"
                assert response.get("content"), f"{where} documents no content"
                for media_type, media in response["content"].items():
                    yield f"{where} {media_type}", media.get("schema", {})
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                yield f"{method.upper()} {path} body {media_type}", media.get("schema", {})


def assert_every_schema_is_typed(document: dict[str, Any]) -> None:
    empty = [where for where, schema in response_schemas(document) if not schema]
    assert not empty, f"empty schemas: {empty}"
    components = document.get("components", {}).get("schemas", {})
    for where, schema in response_schemas(document):
        ref = schema.get("$ref", "")
        assert not ref or ref.removeprefix("#/components/schemas/") in components, (where, ref)


def assert_problem(response: httpx2.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem of that status; returns its document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"]
    assert body["title"]
    return body


DOCUMENTED = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
"""What schemathesis checks of an answer: no server error, and status, content type, headers and body as
documented. Not "every schema-valid request is accepted": a request can be valid parameter by parameter
and still a documented 400 (`from` after `to`)."""


def operations(openapi_url: str) -> list[Operation]:
    """Every operation of the live OpenAPI document (a document schemathesis cannot read fails here)."""
    found: list[Operation] = []
    for result in schemathesis.openapi.from_url(openapi_url).get_all_operations():
        assert isinstance(result, Ok), result
        found.append(result.ok())
    return found


def answers_as_documented(
    operation: Operation, *, headers: dict[str, str] | None = None, examples: int = 20
) -> set[int]:
    """Send generated requests to the operation, check each answer (DOCUMENTED); the statuses seen."""
    statuses: set[int] = set()

    @given(case=operation.as_strategy())
    # Derandomized: the same requests every run, so that a pass or a failure is reproducible.
    @settings(max_examples=examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def conforms(case: schemathesis.Case[Any]) -> None:
        statuses.add(case.call_and_validate(headers=headers, checks=DOCUMENTED, timeout=30).status_code)

    conforms()
    return statuses
