"""The HTTP contracts: every operation of intake, eligibility and statistics answers as its live OpenAPI
document says (schemathesis: generated requests, each answer checked for a documented status, content
type and schema, never a server error), on the system under contract: given, or started here."""

from __future__ import annotations

import pytest

from tests.support.http_api import answers_as_documented, operations
from tests.support.running_system import RunningSystem


def test_intake_answers_as_its_openapi_document_says(system: RunningSystem) -> None:
    """Submissions generated from the contract's schema, one or an array, with and without the token."""
    by_path = {op.path: op for op in operations(f"{system.intake_url}/openapi.json")}
    assert set(by_path) >= {"/v1/submissions", "/schemas/{name}", "/asyncapi.json", "/healthz", "/readyz"}
    submissions = by_path.pop("/v1/submissions")
    assert answers_as_documented(submissions, examples=5) == {401}
    if system.intake_api_token is None:
        pytest.skip("intake's API token was not given: only its refusals could be checked")
    headers = {"Authorization": f"Bearer {system.intake_api_token}"}
    assert answers_as_documented(submissions, headers=headers) == {200}
    for operation in by_path.values():
        assert answers_as_documented(operation)


def test_statistics_answers_as_its_openapi_document_says(system: RunningSystem) -> None:
    by_path = {op.path: op for op in operations(f"{system.statistics_url}/openapi.json")}
    del by_path["/v1/stats/stream"]  # it never ends: a request to it would not come back
    for path in ("/v1/stats/summary", "/v1/stats/series", "/v1/stats/regions"):
        assert 200 in answers_as_documented(by_path.pop(path), examples=30), path
    for operation in by_path.values():
        assert answers_as_documented(operation)


def test_eligibility_answers_as_its_openapi_document_says(system: RunningSystem) -> None:
    by_path = {op.path: op for op in operations(f"{system.eligibility_url}/openapi.json")}
    assert set(by_path) >= {"/healthz", "/readyz"}
    for operation in by_path.values():
        assert answers_as_documented(operation)
