"""Intake's HTTP door answers as its OpenAPI document says: property-based, against a real process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.http_api import answers_as_documented, operations
from tests.support.intake import TOKEN, IntakeUnderTest, intake_under_test

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def intake(
    endpoints: Endpoints, admin_pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[IntakeUnderTest]:
    logs = tmp_path_factory.mktemp("intake") / "intake.log"
    async with intake_under_test(endpoints, admin_pool, Path(logs)) as service:
        await service.process.start()
        yield service


def test_intake_answers_as_its_openapi_document_says(intake: IntakeUnderTest) -> None:
    """Generated requests to every operation (submissions from the contract's schema, one or an array,
    with and without the token); each answer checked against the live OpenAPI document."""
    by_path = {op.path: op for op in operations(f"{intake.process.url}/openapi.json")}
    assert set(by_path) >= {"/v1/submissions", "/schemas/{name}", "/asyncapi.json", "/healthz", "/readyz"}
    submissions = by_path.pop("/v1/submissions")
    assert answers_as_documented(submissions, headers={"Authorization": f"Bearer {TOKEN}"}) == {200}
    assert answers_as_documented(submissions, examples=5) == {401}
    for operation in by_path.values():
        assert answers_as_documented(operation)
