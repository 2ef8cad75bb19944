"""The upstream examples of `examples/` get from a running intake what they are labelled with.

Sent as upstream sends them — on the upstream topic, and one by one as the body of POST /v1/submissions —
every valid example is accepted once and a duplicate after, and every invalid one is rejected with the
reason its name starts with, published on the rejected topic with its original bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from amnesty_contracts import UPSTREAM
from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.examples import examples
from tests.support.intake import TOKEN, IntakeUnderTest, intake_under_test, recorded_submission_id
from tests.support.kafka import read_all
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

# Valid ones first: a conflicting duplicate is rejected only after the valid example it contradicts.
VALID = examples(UPSTREAM, valid=True)
INVALID = examples(UPSTREAM, valid=False)


@pytest.fixture
async def intake(endpoints: Endpoints, admin_pool: Pool, tmp_path: Path) -> AsyncIterator[IntakeUnderTest]:
    async with intake_under_test(endpoints, admin_pool, tmp_path / "intake.log") as service:
        await service.process.start()
        yield service


async def _published(intake: IntakeUnderTest, topic: str) -> list[dict[str, Any]]:
    outbox = f'SELECT count(*) FROM "{intake.schema}".outbox'
    await eventually(lambda: intake.pool.fetchval(outbox), lambda n: n == 0)
    return [json.loads(r.value) for r in await read_all(intake.bootstrap, topic)]


async def test_examples_on_the_upstream_topic_are_recorded_or_rejected_as_labelled(
    intake: IntakeUnderTest,
) -> None:
    await intake.publish([e.raw for e in VALID] + [e.raw for e in INVALID] + [e.raw for e in VALID])
    await intake.consumed_everything()

    rejected = {r["original_sha256"]: r for r in await _published(intake, intake.rejected)}
    assert {e.relative: rejected[hashlib.sha256(e.raw).hexdigest()]["reason"] for e in INVALID} == {
        e.relative: e.expected_reason for e in INVALID
    }
    assert len(rejected) == len(INVALID), "a valid example, or its resend, was rejected"

    cases = await _published(intake, intake.cases)
    recorded = sorted((c["submission"]["source"], c["submission"]["submission_id"]) for c in cases)
    sent = sorted(
        (json.loads(e.raw)["source"], recorded_submission_id(json.loads(e.raw)["submission_id"]))
        for e in VALID
    )
    assert recorded == sent, "each valid example recorded once, its resend a duplicate"


async def test_examples_posted_one_by_one_are_answered_as_labelled(intake: IntakeUnderTest) -> None:
    async with httpx2.AsyncClient(
        base_url=intake.process.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:

        async def answer(raw: bytes) -> dict[str, object]:
            response = await http.post(
                "/v1/submissions", content=raw, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 200, response.text
            results: list[dict[str, object]] = response.json()["results"]
            assert len(results) == 1
            return results[0]

        firsts = {e.relative: (await answer(e.raw))["status"] for e in VALID}
        assert set(firsts.values()) == {"accepted"}, firsts
        reasons = {e.relative: (await answer(e.raw)).get("reason") for e in INVALID}
        assert reasons == {e.relative: e.expected_reason for e in INVALID}
        again = {e.relative: (await answer(e.raw))["status"] for e in VALID}
        assert set(again.values()) == {"duplicate"}, again
