"""Checks of a service's HTTP app that every service's tests share: its OpenAPI document, its problems."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2

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
