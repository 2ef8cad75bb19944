"""The pacts verified on the running system: submissions sent to its intake, then the case events and
decisions read back off its topics, as the consumers receive them, checked by pact's verifier."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx2
import pytest
from aiokafka import ConsumerRecord

from amnesty_contracts import CASES, DECISIONS, Rejection, parse_case_event, parse_decision_event
from amnesty_intake.service_layer.admission import correlation_id
from amnesty_runtime.kafka_client import KafkaClientOptions
from tests.contract.message_pacts import described
from tests.contract.pact_providers import DECISION_TYPES, Published, Submitter, distinct_person, verify
from tests.support.kafka import positions, read_since
from tests.support.running_system import RunningSystem
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

Wanted = dict[tuple[uuid.UUID, str], str]
"""The pact description of each message wanted, by (correlation id, event type)."""


def _submit(system: RunningSystem, submissions: Sequence[Mapping[str, Any]]) -> None:
    assert system.intake_api_token is not None
    answer = httpx2.post(
        f"{system.intake_url}/v1/submissions",
        json=list(submissions),
        headers={"Authorization": f"Bearer {system.intake_api_token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert {r["status"] for r in answer.json()["results"]} == {"accepted"}, answer.json()


def _correlation(submission: Mapping[str, Any]) -> uuid.UUID:
    return correlation_id(submission["source"], submission["submission_id"])


async def _read(
    system: RunningSystem, topic: str, since: dict[int, int], wanted: Wanted, decisions: bool
) -> dict[str, Published]:
    """The wanted messages off `topic` after `since`, as published on the contract's topic: local
    services run on topics of their own, each standing in for its contract topic (a given system uses
    the real ones)."""
    bootstrap = _kafka(system)

    def found(records: list[ConsumerRecord[bytes, bytes]]) -> dict[str, Published]:
        messages: dict[str, Published] = {}
        for record in records:
            raw = record.value or b""
            event = parse_decision_event(raw) if decisions else parse_case_event(raw)
            if isinstance(event, Rejection):
                continue  # not ours to judge here: another run's or another producer's message
            description = wanted.get((event.correlation_id, event.type))
            if description is not None:
                messages[description] = Published(DECISIONS if decisions else CASES, record.key, raw)
        return messages

    async def probe() -> dict[str, Published]:
        return found(await read_since(bootstrap, topic, since))

    return await eventually(probe, lambda messages: len(messages) == len(wanted), timeout_s=120)


def _kafka(system: RunningSystem) -> KafkaClientOptions:
    assert system.kafka is not None
    return system.kafka


@pytest.fixture
def ready(system: RunningSystem) -> RunningSystem:
    if system.intake_api_token is None or system.kafka_bootstrap_servers is None:
        pytest.skip(
            "the running system's intake token (AMNESTY_INTAKE_API_TOKEN or _FILE) and Kafka bootstrap "
            "(KAFKA_BOOTSTRAP_SERVERS) are both needed"
        )
    return system


async def test_the_running_intake_publishes_the_case_events_its_consumers_expect(
    ready: RunningSystem,
) -> None:
    run = uuid.uuid4().hex[:12]
    submissions = Submitter(distinct_person(), run).case_submissions()
    since = await positions(_kafka(ready), ready.cases_topic)
    _submit(ready, list(submissions.values()))
    wanted = {
        (_correlation(s), type_name): described(type_name, "event") for type_name, s in submissions.items()
    }
    messages = await _read(ready, ready.cases_topic, since, wanted, decisions=False)
    for consumer in ("eligibility", "statistics"):
        verify("intake", f"{consumer}-intake.json", messages)


async def test_the_running_eligibility_publishes_the_decisions_statistics_expects(
    ready: RunningSystem,
) -> None:
    run = uuid.uuid4().hex[:12]
    wanted: Wanted = {}
    submissions: list[dict[str, Any]] = []
    for number, type_name in enumerate(DECISION_TYPES):
        # One person per history, so that each ends with its own decision.
        history = Submitter(distinct_person(), f"{run}-{number}").decision_history(type_name)
        submissions += history
        decided = [s for s in history if s["type"] == "VoluntaryReturn"][-1]
        wanted[(_correlation(decided), type_name)] = described(type_name, "event")
    since = await positions(_kafka(ready), ready.decisions_topic)
    _submit(ready, submissions)
    decisions = await _read(ready, ready.decisions_topic, since, wanted, decisions=True)
    verify("eligibility", "statistics-eligibility.json", decisions)
