"""Submissions in at intake's HTTP door, figures out of the statistics API: the three services as real
processes, each on its own schema, topics and consumer group, chained through real Kafka topics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.intake import TOKEN, submission
from tests.support.pipeline import pipeline_under_test
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

ALICE, BOHDAN, CHRYSTYNA = "3012345678", "3012345679", "3012345670"


async def test_returns_reach_the_statistics_with_their_decisions(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    first_window = {"absent_since": "2024-11-02", "registered_on": "2024-11-20", "region": "UA-48"}
    submissions = [
        submission(person_id=ALICE, case_number="12024100000000001", **first_window),
        submission("VoluntaryReturn", person_id=ALICE, returned_on="2025-01-15"),
        # Bohdan's return arrives before his case: pending, then granted under the second window.
        submission("VoluntaryReturn", person_id=BOHDAN, returned_on="2025-06-01"),
        submission(
            person_id=BOHDAN,
            case_number="12025100000000002",
            absent_since="2025-04-01",
            registered_on="2025-04-10",
            region="UA-30",
        ),
        submission(
            person_id=CHRYSTYNA,
            case_number="12025100000000003",
            article="408",
            absent_since="2025-01-01",
            registered_on="2025-01-10",
            region="UA-30",
        ),
        submission("Detained", person_id=CHRYSTYNA, detained_on="2025-02-01"),
    ]
    async with pipeline_under_test(endpoints, admin_pool, tmp_path) as pipeline:
        intake, stats = pipeline.intake, pipeline.statistics
        await pipeline.start()
        async with httpx2.AsyncClient(
            base_url=intake.process.url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as http:
            for item in submissions:  # one by one: the order upstream sent them in
                response = await http.post("/v1/submissions", json=item)
                assert response.json()["results"][0]["status"] == "accepted"

        async with httpx2.AsyncClient(base_url=stats.process.url) as http:

            async def summary() -> dict[str, Any]:
                return dict((await http.get("/v1/stats/summary")).json())

            figures = await eventually(
                summary, lambda s: s["amnesties_granted"] == 2 and s["amnesties_denied"] == 1, timeout_s=90
            )
            assert figures | {"from": None} == {
                "from": None,
                "to": None,
                "region": None,
                "article": None,
                "cases_opened": 3,
                "voluntary_returns": 2,
                "detained": 1,
                "amnesties_granted": 2,
                "amnesties_granted_by_regime": {"window-1": 1, "window-2": 1},
                "amnesties_denied": 1,
                "amnesties_denied_by_reason": {"not-voluntary": 1},
                "pending": 0,
                "revoked": 0,
                "open_cases": 0,
                "return_rate": 2 / 3,
            }
            kyiv = (await http.get("/v1/stats/summary", params={"region": "UA-30"})).json()
            assert (kyiv["voluntary_returns"], kyiv["detained"]) == (1, 1), (
                "Bohdan's return moved to his case"
            )
            exposed = (await http.get("/v1/stats/regions")).text + (await http.get("/metrics")).text
            assert not [raw for raw in (ALICE, BOHDAN, CHRYSTYNA, "12024100000000001") if raw in exposed]
