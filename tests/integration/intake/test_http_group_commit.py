"""Concurrent HTTP submissions are admitted together: fewer transactions than requests, each request
answered with its own items' outcomes, and a submission sent twice at once recorded once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.intake import TOKEN, IntakeUnderTest, intake_under_test, recorded_submission_id, submission
from tests.support.kafka import read_all
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

REQUESTS = 40


@pytest.fixture
async def intake(endpoints: Endpoints, admin_pool: Pool, tmp_path: Path) -> AsyncIterator[IntakeUnderTest]:
    async with intake_under_test(endpoints, admin_pool, tmp_path / "intake.log") as service:
        await service.process.start()
        yield service


def _groups(metrics_text: str) -> tuple[float, float]:
    """(transactions, requests) of the HTTP admissions' group commit, from /metrics."""
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.labels.get("name") == "intake-http"
    }
    return samples["amnesty_group_commit_callers_count"], samples["amnesty_group_commit_callers_sum"]


async def test_concurrent_requests_share_transactions_and_get_their_own_outcomes(
    intake: IntakeUnderTest,
) -> None:
    singles = [submission(person_id=f"30123456{i:02d}") for i in range(REQUESTS)]
    twice = submission(submission_id="sent-twice-at-once")
    bad = submission(registered_on="2025-02-30")
    async with httpx2.AsyncClient(
        base_url=intake.process.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as http:
        answers = await asyncio.gather(
            *(http.post("/v1/submissions", json=s) for s in singles),
            http.post("/v1/submissions", json=[twice, bad]),
            http.post("/v1/submissions", json=[twice]),
        )
        metrics = (await http.get("/metrics")).text

    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    assert [a.json()["results"][0]["status"] for a in answers[:REQUESTS]] == ["accepted"] * REQUESTS
    pair, alone = answers[REQUESTS].json()["results"], answers[REQUESTS + 1].json()["results"]
    assert [r["status"] for r in pair][1:] == ["rejected"]
    assert pair[1]["reason"] == "invalid-field"
    assert sorted([pair[0]["status"], alone[0]["status"]]) == ["accepted", "duplicate"]

    transactions, callers = _groups(metrics)
    assert callers == REQUESTS + 2
    assert transactions < callers  # concurrent requests committed together

    outbox = f'SELECT count(*) FROM "{intake.schema}".outbox'
    await eventually(lambda: intake.pool.fetchval(outbox), lambda n: n == 0)
    cases = [json.loads(r.value) for r in await read_all(intake.bootstrap, intake.cases)]
    ids = Counter(c["submission"]["submission_id"] for c in cases)
    sent = [s["submission_id"] for s in singles] + ["sent-twice-at-once"]
    assert ids == Counter(recorded_submission_id(s) for s in sent)
