"""The API documentation of every service: Swagger UI from local files, OpenAPI with problems."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from amnesty_runtime.service import service_app

_REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


def _references(page: str) -> list[str]:
    return [a or b for a, b in _REFERENCE.findall(page)]


def test_the_docs_page_loads_only_what_the_service_itself_serves() -> None:
    client = TestClient(service_app("docs-test"))
    response = client.get("/docs")
    assert response.status_code == 200
    references = _references(response.text)
    assert len(references) == 4, references
    assert "/openapi.json" in references
    for reference in references:
        assert reference.startswith("/"), reference
        assert not reference.startswith("//"), reference
        served = client.get(reference)
        assert served.status_code == 200, reference
        assert served.content, reference
    assert "googleapis" not in response.text
    assert "cdn" not in response.text.lower()


def test_there_is_no_redoc_page_to_call_out_for_its_logo() -> None:
    assert TestClient(service_app("docs-test")).get("/redoc").status_code == 404


def test_the_swagger_ui_bundle_is_the_real_script() -> None:
    client = TestClient(service_app("docs-test"))
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert b"SwaggerUIBundle" in script.content


def _openapi(app: FastAPI) -> dict[str, Any]:
    document: dict[str, Any] = TestClient(app).get("/openapi.json").json()
    return document


def test_every_operation_documents_its_500_as_a_problem() -> None:
    document = _openapi(service_app("docs-test"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answer = operation["responses"]["500"]["content"]["application/problem+json"]["schema"]
            assert answer == {"$ref": "#/components/schemas/Problem"}, (path, method)
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(problem["properties"])


def test_fastapis_validation_error_is_documented_as_the_400_problem_it_is() -> None:
    app = service_app("docs-test")

    @app.get("/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    document = _openapi(app)
    responses = document["paths"]["/things/{thing_id}"]["get"]["responses"]
    assert "422" not in responses
    assert responses["400"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_a_json_schema_given_as_a_request_body_has_its_defs_moved_to_the_components() -> None:
    app = service_app("docs-test")
    cat = {"type": "object", "properties": {"kind": {"const": "cat"}}}
    body: dict[str, Any] = {
        "$defs": {"Cat": cat},
        "oneOf": [{"$ref": "#/$defs/Cat"}],
        "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/$defs/Cat"}},
    }

    @app.post("/pets", openapi_extra={"requestBody": {"content": {"application/json": {"schema": body}}}})
    async def pets() -> dict[str, str]:
        return {}

    document = _openapi(app)
    schema = document["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {
        "oneOf": [{"$ref": "#/components/schemas/Cat"}],
        "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}},
    }
    assert document["components"]["schemas"]["Cat"] == cat
