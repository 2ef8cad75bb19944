"""The eligibility service killed (SIGKILL) in the middle of its batches and restarted decides exactly what
a run without a kill decides: no decision lost, none emitted twice.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from amnesty_contracts import DecisionEvent
from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.eligibility import (
    CaseEventsInput,
    EligibilityUnderTest,
    Submission,
    eligibility_under_test,
)

pytestmark = pytest.mark.integration

PERSONS = 240


def _submissions() -> list[Submission]:
    """Per person: a case and a return in some order, and for some an earlier case that comes late."""
    persons: list[list[Submission]] = []
    for i in range(PERSONS):
        person, case = f"{4000000000 + i}", f"{12025000000000000 + i}"
        absent_since, returned_on = ("2025-03-01", "2025-06-01") if i % 3 else ("2024-10-01", "2024-12-20")
        opened = {
            "type": "CaseOpened",
            "source": "erdr",
            "submission_id": f"open-{case[-9:]}",  # never the case number itself (a contract rule)
            "person_id": person,
            "case_number": case,
            "article": "407",
            "absent_since": absent_since,
            "registered_on": absent_since,
            "region": "UA-48",
        }
        ret = {
            "type": "VoluntaryReturn" if i % 7 else "Detained",
            "source": "army-plus",
            "submission_id": f"return-{i}",
            "person_id": person,
            **(
                {"returned_on": returned_on, "channel": "army-plus"}
                if i % 7
                else {"detained_on": returned_on}
            ),
        }
        earlier = {
            **opened,
            "submission_id": f"open-early-{case[-9:]}",
            "case_number": f"{12023000000000000 + i}",
        }
        earlier["absent_since"] = earlier["registered_on"] = "2023-05-01"
        persons.append([*([ret, opened] if i % 2 else [opened, ret]), *([earlier] if i % 5 == 0 else [])])
    # Persons interleaved, each person's submissions in their order.
    return [p[k] for k in range(3) for p in persons if k < len(p)]


def _comparable(decisions: list[DecisionEvent]) -> dict[str, list[dict[str, Any]]]:
    """Per person, the decisions in order without what differs between runs (ids, record times)."""
    by_person: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    ids: dict[str, int] = {}
    for decision in decisions:
        ids[str(decision.event_id)] = len(by_person[decision.person])
        body = decision.model_dump(mode="json", exclude={"event_id", "recorded_at"})
        if "revokes" in body["data"]:
            body["data"]["revokes"] = ids[body["data"]["revokes"]]
        by_person[decision.person].append(body)
    return dict(by_person)


def _first_of_each(published: list[tuple[str, DecisionEvent]]) -> list[DecisionEvent]:
    """The decisions as a consumer keeps them: a re-send (a known `event-id`) dropped."""
    seen: set[str] = set()
    kept = []
    for event_id, decision in published:
        if event_id not in seen:
            seen.add(event_id)
            kept.append(decision)
    return kept


async def _applied(service: EligibilityUnderTest) -> int:
    value = await service.pool.fetchval(
        f'SELECT coalesce(sum(next_offset), 0) FROM "{service.schema}".consumer_checkpoints'
    )
    return int(value)


async def test_a_killed_service_restarts_without_losing_or_repeating_a_decision(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    submissions = _submissions()
    async with (
        eligibility_under_test(endpoints, admin_pool, tmp_path / "clean.log", batch_max_records=40) as clean,
        eligibility_under_test(
            endpoints, admin_pool, tmp_path / "killed.log", batch_max_records=15
        ) as killed,
    ):
        clean_input = CaseEventsInput(clean.bootstrap, clean.cases)
        await clean_input.submit(submissions)
        # the same case events (same ids) for the run that is killed
        await CaseEventsInput(killed.bootstrap, killed.cases, clean_input.recorded).submit(submissions)

        await clean.process.start()
        await clean.settled()
        await clean.process.stop()

        progress: list[int] = []
        await killed.process.start()
        for threshold in (len(submissions) // 3, 2 * len(submissions) // 3):
            while await _applied(killed) < threshold:
                await asyncio.sleep(0.005)
            await killed.process.kill()
            progress.append(await _applied(killed))
            await killed.process.start()
        await killed.settled()

        expected = await clean.stored_decisions()
        stored = await killed.stored_decisions()
        published = await killed.published_decisions()

    assert len(progress) == 2
    assert all(applied < len(submissions) for applied in progress), "killed before the end"
    assert len(expected) > len(submissions) // 2
    assert _comparable(stored) == _comparable(expected), "the same decisions as the run without kills"
    # The relay publishes at least once; consumers drop a re-send by its event id. What is published,
    # once re-sends are dropped, is exactly what was decided, each person's in order.
    first_publications = _first_of_each(published)
    assert sorted(str(d.event_id) for d in first_publications) == sorted(str(d.event_id) for d in stored)
    assert _comparable(first_publications) == _comparable(stored)
