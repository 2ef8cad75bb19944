"""The running intake honours what it expects of the upstream systems: every submission of their pacts,
sent to its HTTP door, is accepted (or, sent before, recognised as a duplicate)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from tests.contract.message_pacts import PACT_DIR, UPSTREAM_SYSTEMS
from tests.support.running_system import RunningSystem

pytestmark = pytest.mark.integration


def submissions_of(system: str) -> list[dict[str, Any]]:
    pact = json.loads((PACT_DIR / f"intake-{system}.json").read_text(encoding="utf-8"))
    return [interaction["contents"]["content"] for interaction in pact["interactions"]]


@pytest.mark.parametrize("upstream", sorted(UPSTREAM_SYSTEMS))
def test_the_running_intake_accepts_each_submission_of_the_systems_pact(
    upstream: str, system: RunningSystem
) -> None:
    token = system.intake_api_token
    if token is None:
        pytest.skip(
            "no intake API token given: set AMNESTY_INTAKE_API_TOKEN or AMNESTY_INTAKE_API_TOKEN_FILE"
        )
    submissions = submissions_of(upstream)
    assert submissions
    answer = httpx2.post(
        f"{system.intake_url}/v1/submissions",
        json=submissions,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    statuses = [result["status"] for result in answer.json()["results"]]
    # A repeated run against the same system sends them again: a duplicate is the contract's answer then.
    assert len(statuses) == len(submissions)
    assert set(statuses) <= {"accepted", "duplicate"}, answer.json()
