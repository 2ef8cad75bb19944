"""The eligibility service end to end through the real broker: case events in, decisions out, resends
decided once, a poison message rejected without stopping its partition.

The scenarios are upstream submissions. The first tests feed eligibility alone, recording them as case
events as intake would (`CaseEventsInput`); the last one sends them through the intake service. The
expectations name the return's submission, which decisions carry through unchanged, so both ways share
them.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from amnesty_contracts import (
    AmnestyGrantedEvent,
    AmnestyRevokedEvent,
    DecisionEvent,
    RejectedMessage,
)
from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.eligibility import (
    CaseEventsInput,
    EligibilityUnderTest,
    Submission,
    eligibility_under_test,
)
from tests.support.intake import encoded, intake_under_test, recorded_submission_id
from tests.support.kafka import read_all

pytestmark = pytest.mark.integration


def _case(person: str, number: str, absent_since: str, **more: str) -> Submission:
    return {
        "type": "CaseOpened",
        "source": "erdr",
        "submission_id": f"open-{number[-9:]}",  # never the case number itself (a contract rule)
        "person_id": person,
        "case_number": number,
        "article": "407",
        "absent_since": absent_since,
        "registered_on": absent_since,
        "region": "UA-48",
        **more,
    }


def _return(person: str, submission_id: str, returned_on: str) -> Submission:
    return {
        "type": "VoluntaryReturn",
        "source": "army-plus",
        "submission_id": submission_id,
        "person_id": person,
        "returned_on": returned_on,
        "channel": "army-plus",
    }


# In publishing order; a person's submissions reach eligibility in this order.
SCENARIOS: list[Submission] = [
    _case("1000000001", "12025000000000001", "2025-03-01"),
    _return("1000000001", "a-return", "2025-06-01"),
    _return("1000000002", "b-return", "2024-12-15"),  # before its case
    _case("1000000002", "12024000000000002", "2024-10-01"),
    _case("1000000003", "12025000000000003", "2025-03-01"),
    {
        "type": "Detained",
        "source": "military-police",
        "submission_id": "c-detained",
        "person_id": "1000000003",
        "detained_on": "2025-06-02",
    },
    _case("1000000004", "12025000000000004", "2025-03-01"),
    _return("1000000004", "d-return", "2025-06-01"),
    _case("1000000004", "12024000000000040", "2024-06-01"),  # an earlier case, registered late
    _case("1000000005", "12025000000000005", "2025-09-10"),
    _return("1000000005", "e-return", "2025-10-01"),
    _case("1000000006", "12025000000000006", "2025-03-01"),
    {
        "type": "CaseReclassified",
        "source": "erdr",
        "submission_id": "f-reclassified",
        "person_id": "1000000006",
        "case_number": "12025000000000006",
        "article": "408",
        "reclassified_on": "2025-04-01",
    },
    _return("1000000006", "f-return", "2025-06-01"),
]

EXPECTED = {
    "a-return": [("AmnestyGranted", "window-2")],
    "b-return": [("EligibilityPending", "case-unknown"), ("AmnestyGranted", "window-1")],
    "c-detained": [("AmnestyDenied", "not-voluntary")],
    "d-return": [("AmnestyGranted", "window-2"), ("AmnestyRevoked", "repeat-offence")],
    "e-return": [("AmnestyDenied", "outside-window")],
    "f-return": [("AmnestyGranted", "window-2")],
}


def _code(decision: DecisionEvent) -> str:
    return decision.data.regime if isinstance(decision, AmnestyGrantedEvent) else decision.data.reason.value


def _sorted(published: list[tuple[str, DecisionEvent]]) -> list[tuple[str, DecisionEvent]]:
    # A topic is read partition by partition, in no fixed order of partitions.
    return sorted(published, key=lambda p: p[0])


def _by_return(decisions: list[DecisionEvent]) -> dict[str, list[tuple[str, str]]]:
    by_return: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for decision in decisions:
        by_return[decision.submission.submission_id].append((decision.type, _code(decision)))
    return dict(by_return)


@pytest.fixture
async def eligibility(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> AsyncIterator[EligibilityUnderTest]:
    async with eligibility_under_test(endpoints, admin_pool, tmp_path / "eligibility.log") as service:
        await service.process.start()
        yield service


async def test_submissions_are_decided_and_resends_decided_once(eligibility: EligibilityUnderTest) -> None:
    feed = CaseEventsInput(eligibility.bootstrap, eligibility.cases)
    await feed.submit(SCENARIOS)
    await eligibility.settled()

    published = await eligibility.published_decisions()
    decisions = [d for _, d in published]
    assert _by_return(decisions) == EXPECTED
    assert len({event_id for event_id, _ in published}) == len(published)

    granted = {d.submission.submission_id: d for d in decisions if isinstance(d, AmnestyGrantedEvent)}
    assert granted["a-return"].data.reinstate_by.isoformat() == "2025-06-04T00:00:00+03:00"
    assert granted["f-return"].data.facts["article"] == "408"
    (revocation,) = [d for d in decisions if isinstance(d, AmnestyRevokedEvent)]
    assert revocation.data.revokes == granted["d-return"].event_id
    assert revocation.causation_id == feed.event_of(SCENARIOS[8]).event_id
    assert revocation.correlation_id == feed.event_of(SCENARIOS[7]).correlation_id

    await feed.submit(SCENARIOS)  # everything again, as a relay that died before marking it sent would
    await eligibility.settled()
    assert _sorted(await eligibility.published_decisions()) == _sorted(published)


async def test_upstream_submissions_through_intake_are_decided_once(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    async with (
        intake_under_test(endpoints, admin_pool, tmp_path / "intake.log") as intake,
        eligibility_under_test(
            endpoints, admin_pool, tmp_path / "eligibility.log", cases_topic=intake.cases
        ) as eligibility,
    ):
        await intake.process.start()
        await eligibility.process.start()
        for _ in range(2):  # the second time, every submission is a resend
            await intake.publish([encoded(s) for s in SCENARIOS])
            await intake.consumed_everything()
            await eligibility.settled()
            published = await eligibility.published_decisions()
            # Intake records a submission_id as its keyed digest (it may carry personal data).
            expected = {recorded_submission_id(s): decisions for s, decisions in EXPECTED.items()}
            assert _by_return([d for _, d in published]) == expected


async def test_a_poison_message_is_rejected_and_its_partition_goes_on(
    eligibility: EligibilityUnderTest,
) -> None:
    feed = CaseEventsInput(eligibility.bootstrap, eligibility.cases)
    person = feed.event_of(SCENARIOS[0]).person.encode()
    poison = b'{"type": "CaseOpened", "person": "not json'
    await feed.publish_raw([(person, poison)])
    await feed.submit(SCENARIOS[:2])
    await eligibility.settled()

    assert _by_return([d for _, d in await eligibility.published_decisions()]) == {
        "a-return": EXPECTED["a-return"]
    }
    (record,) = await read_all(eligibility.bootstrap, eligibility.rejected)
    rejected = RejectedMessage.model_validate_json(record.value or b"")
    assert (record.key, rejected.reason.value, rejected.topic) == (person, "invalid-json", eligibility.cases)
    assert base64.b64decode(rejected.original) == poison

    async with httpx2.AsyncClient(base_url=eligibility.process.url) as client:
        metrics = (await client.get("/metrics")).text
    labels = f'service="eligibility",topic="{eligibility.cases}"'
    assert f'amnesty_messages_consumed_total{{{labels},type="invalid"}} 1.0' in metrics
    assert f'amnesty_messages_consumed_total{{{labels},type="VoluntaryReturn"}} 1.0' in metrics
    assert 'amnesty_messages_rejected_total{reason="invalid-json",service="eligibility"} 1.0' in metrics
    assert 'amnesty_handler_seconds_count{service="eligibility",type="CaseOpened"} 1.0' in metrics
