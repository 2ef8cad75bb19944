"""The message pacts of every producer -> consumer pair: the consumers' side generates them (against
their real parsers and domain), the committed files are up to date, and each provider's real code
produces messages that honour them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pact.error import PactVerificationError

from tests.contract.message_pacts import PACT_DIR, REGENERATE, UPSTREAM_SYSTEMS, MessagePact, all_pacts
from tests.contract.pact_consumers import consumer_of, statistics_projects_a_case_event
from tests.contract.pact_providers import (
    Published,
    eligibility_messages,
    intake_messages,
    simulated_upstream,
    verify,
)

PACTS: dict[str, MessagePact] = {message_pact.file_name: message_pact for message_pact in all_pacts()}


def test_every_producer_consumer_pair_has_a_pact() -> None:
    pairs = {(p.provider, p.consumer, p.topic) for p in PACTS.values()}
    assert pairs == {
        ("intake", "eligibility", "amnesty.cases.v1"),
        ("intake", "statistics", "amnesty.cases.v1"),
        ("eligibility", "statistics", "amnesty.decisions.v1"),
        *((system, "intake", "amnesty.upstream.v1") for system in UPSTREAM_SYSTEMS),
    }
    assert set(UPSTREAM_SYSTEMS) == {"erdr", "army-plus", "reserve-battalion", "military-police", "courts"}


@pytest.mark.parametrize("file_name", sorted(PACTS))
def test_the_consumer_handles_every_message_of_its_pact(file_name: str) -> None:
    message_pact = PACTS[file_name]
    handled: list[str | bytes | None] = []
    handler = consumer_of(message_pact.consumer, message_pact.provider)

    def counting(body: str | bytes | None, metadata: dict[str, object]) -> None:
        handled.append(body)
        handler(body, metadata)

    message_pact.build().verify(counting, "Async")
    assert len(handled) == len(message_pact.expectations)


def test_a_message_the_consumer_cannot_read_fails_its_consumer_test() -> None:
    message_pact = PACTS["statistics-intake.json"]
    broken = message_pact.expectations[0]
    body = {**broken.body, "schema_version": 2, "type": "CaseForgotten"}
    pact = MessagePact(message_pact.consumer, message_pact.provider, message_pact.topic, ()).build()
    pact.upon_receiving("an event of an unknown type", "Async").with_body(body, "application/json")
    with pytest.raises(PactVerificationError):
        pact.verify(statistics_projects_a_case_event, "Async")


@pytest.mark.parametrize("file_name", sorted(PACTS))
def test_the_committed_pact_file_is_the_one_the_consumer_tests_define(file_name: str, tmp_path: Path) -> None:
    PACTS[file_name].build().write_file(tmp_path, overwrite=True)
    committed = PACT_DIR / file_name
    assert committed.is_file(), f"{committed} is missing; regenerate with: {REGENERATE}"
    assert contract_of(committed) == contract_of(tmp_path / file_name), (
        f"{committed} is out of date; regenerate with: {REGENERATE}"
    )


def contract_of(pact_file: Path) -> dict[str, Any]:
    """A pact file without the version stamp of the library that wrote it, which is no part of it."""
    pact: dict[str, Any] = json.loads(pact_file.read_text(encoding="utf-8"))
    pact["metadata"].pop("pactRust")
    return pact


def test_no_pact_file_outlives_its_pact() -> None:
    assert {path.name for path in PACT_DIR.glob("*.json")} == set(PACTS)


@pytest.mark.parametrize("consumer", ["eligibility", "statistics"])
async def test_intake_publishes_the_case_events_its_consumers_expect(consumer: str) -> None:
    verify("intake", f"{consumer}-intake.json", await intake_messages())


async def test_eligibility_publishes_the_decisions_statistics_expects() -> None:
    verify("eligibility", "statistics-eligibility.json", await eligibility_messages())


@cache
def simulated() -> dict[str, dict[str, Published]]:
    return simulated_upstream()


@pytest.mark.parametrize("system", sorted(UPSTREAM_SYSTEMS))
def test_each_upstream_system_as_simulated_sends_what_intake_expects(system: str) -> None:
    verify(system, f"intake-{system}.json", simulated()[system])


async def test_a_provider_publishing_a_raw_identifier_as_the_person_fails_verification() -> None:
    messages = await intake_messages()
    opened = messages["a CaseOpened event"]
    event = json.loads(opened.value) | {"person": "3012345678"}
    messages["a CaseOpened event"] = Published(opened.topic, opened.key, json.dumps(event).encode())
    with pytest.raises(AssertionError, match=r"\$\.person"):
        verify("intake", "statistics-intake.json", messages)
