"""The example messages of `examples/` get what they are labelled with from the real parsers.

Valid examples are accepted by the gate every message passes (`amnesty_contracts.parsing`, which intake's
Kafka consumer and its HTTP door both call) and satisfy the published JSON Schema; invalid ones are
rejected with the reason their name starts with; a conflicting duplicate conflicts under intake's own
idempotence rule; domain events read back and written out are byte-for-byte what the serializers write.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any, Final

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from pydantic import BaseModel
from referencing import Registry, Resource

from amnesty_contracts import (
    CASE_EVENT_MODELS,
    CASES,
    DECISION_EVENT_MODELS,
    DECISIONS,
    REJECTED,
    SUBMISSION_ADAPTER,
    SUBMISSION_MODELS,
    UPSTREAM,
    Rejection,
    RejectionReason,
    canonical_submission,
    parse_case_event,
    parse_decision_event,
    parse_submission,
)
from amnesty_contracts.rejected import RejectedMessage
from amnesty_contracts.schema_export import rendered_files
from amnesty_intake.domain.admission import CONFLICT, Candidate, Verdict, classify
from amnesty_intake.domain.pseudonyms import Pseudonymizer
from tests.support.examples import EXAMPLES, Example, all_examples, examples

Parser = Callable[[bytes], BaseModel | Rejection]

PARSERS: Final[dict[str, Parser]] = {
    UPSTREAM: parse_submission,
    CASES: parse_case_event,
    DECISIONS: parse_decision_event,
}
# The published schema every message of the topic satisfies (the union of its types).
SCHEMAS: Final = {
    UPSTREAM: "upstream.Submission.json",
    CASES: "cases.CaseEvent.json",
    DECISIONS: "decisions.DecisionEvent.json",
    REJECTED: "rejected.RejectedMessage.json",
}
DUPLICATE_REASON: Final = RejectionReason.CONFLICTING_DUPLICATE.value
# A row of the README's tables: | [`name.json`](topic/folder/name.json) | `reason` | what the detail names |
README_ROW: Final = re.compile(
    r"^\| \[`[^`]+`\]\((?P<path>[^)]+)\) \| `(?P<reason>[a-z-]+)` \| (?P<names>.*) \|$"
)


def _ids(items: list[Example]) -> list[str]:
    return [item.relative for item in items]


def _parsed_examples(topic: str, *, valid: bool) -> list[Example]:
    return [e for e in examples(topic, valid=valid) if e.expected_reason != DUPLICATE_REASON]


@cache
def _validator(file_name: str) -> Any:
    schema = json.loads(rendered_files()[file_name])
    return Draft202012Validator(
        schema,
        registry=Registry().with_resource(file_name, Resource.from_contents(schema)),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def test_every_message_type_of_every_topic_has_a_valid_example() -> None:
    for topic, models in (
        (UPSTREAM, SUBMISSION_MODELS),
        (CASES, CASE_EVENT_MODELS),
        (DECISIONS, DECISION_EVENT_MODELS),
    ):
        shown = {json.loads(e.raw)["type"] for e in examples(topic, valid=True)}
        assert shown == set(models), topic
    assert examples(REJECTED, valid=True)


def test_every_message_type_of_every_topic_has_an_invalid_example() -> None:
    for topic, models in (
        (UPSTREAM, SUBMISSION_MODELS),
        (CASES, CASE_EVENT_MODELS),
        (DECISIONS, DECISION_EVENT_MODELS),
    ):
        shown = set()
        for example in examples(topic, valid=False):
            try:
                document = json.loads(example.raw)
            except ValueError:
                continue  # not JSON at all: no type to show
            if isinstance(document, dict):
                shown.add(document.get("type"))
        assert shown >= set(models), topic


def test_every_rejection_reason_has_an_upstream_example_named_after_it() -> None:
    named = {e.expected_reason for e in examples(UPSTREAM, valid=False)}
    # Provenance reasons judge the signatures of domain events, which upstream submissions do not carry.
    provenance = {
        RejectionReason.UNSIGNED,
        RejectionReason.UNKNOWN_KEY,
        RejectionReason.BAD_SIGNATURE,
        RejectionReason.PRODUCER_NOT_ALLOWED,
    }
    assert named == {reason.value for reason in RejectionReason if reason not in provenance}


@pytest.mark.parametrize(
    "example",
    [e for topic in PARSERS for e in _parsed_examples(topic, valid=True)],
    ids=lambda e: e.relative,
)
def test_valid_examples_are_accepted_and_satisfy_the_published_schema(example: Example) -> None:
    parsed = PARSERS[example.topic](example.raw)
    assert not isinstance(parsed, Rejection), parsed
    _validator(SCHEMAS[example.topic]).validate(json.loads(example.raw))


@pytest.mark.parametrize(
    "example",
    [e for topic in PARSERS for e in _parsed_examples(topic, valid=False)],
    ids=lambda e: e.relative,
)
def test_invalid_examples_are_rejected_for_the_reason_they_are_named_after(example: Example) -> None:
    parsed = PARSERS[example.topic](example.raw)
    assert isinstance(parsed, Rejection), f"{example} was accepted"
    assert parsed.reason.value == example.expected_reason, parsed.detail


@pytest.mark.parametrize(
    "example", [*examples(CASES, valid=True), *examples(DECISIONS, valid=True)], ids=lambda e: e.relative
)
def test_domain_event_examples_are_what_the_serializers_write(example: Example) -> None:
    event = PARSERS[example.topic](example.raw)
    assert isinstance(event, BaseModel)
    assert event.model_dump(mode="json") == json.loads(example.raw)


def _content(pseudonyms: Pseudonymizer, example: Example) -> Candidate:
    submission = SUBMISSION_ADAPTER.validate_json(example.raw)
    key = (submission.source, submission.submission_id)
    return Candidate(key, pseudonyms.content(canonical_submission(submission)))


@pytest.mark.parametrize(
    "example",
    [e for e in examples(UPSTREAM, valid=False) if e.expected_reason == DUPLICATE_REASON],
    ids=lambda e: e.relative,
)
def test_conflicting_duplicates_conflict_with_the_valid_example_sent_first(example: Example) -> None:
    pseudonyms = Pseudonymizer(b"k" * 32)
    resend = _content(pseudonyms, example)
    firsts = [
        c for c in (_content(pseudonyms, e) for e in examples(UPSTREAM, valid=True)) if c.key == resend.key
    ]
    assert len(firsts) == 1, f"no valid example has the key of {example}"
    # As intake judges a batch: the first occurrence of the key is recorded, an equal resend is a
    # duplicate, the example (same key, other content) conflicts.
    assert classify([firsts[0], firsts[0], resend], claimed={resend.key}, stored={}) == [
        Verdict.ACCEPTED,
        Verdict.DUPLICATE,
        CONFLICT,
    ]
    # And the same when the first was recorded by an earlier batch.
    assert classify([resend], claimed=set(), stored={resend.key: firsts[0].content}) == [CONFLICT]


@pytest.mark.parametrize("example", examples(REJECTED, valid=True), ids=lambda e: e.relative)
def test_rejected_examples_carry_an_invalid_example_and_its_rejection(example: Example) -> None:
    _validator(SCHEMAS[REJECTED]).validate(json.loads(example.raw))
    message = RejectedMessage.model_validate_json(example.raw)
    original = message.original_bytes()
    assert any(original == e.raw for e in examples(UPSTREAM, valid=False)), "not the bytes of an example"
    assert message.original_sha256 == hashlib.sha256(original).hexdigest()
    assert base64.b64encode(original).decode() == message.original
    # Judged on the day it was rejected, the original gets the reason and detail the example states.
    again = parse_submission(original, today=message.rejected_at.date())
    assert again == Rejection(message.reason, message.detail)
    assert example.name == message.reason.value


def _readme_rows() -> dict[str, re.Match[str]]:
    lines = (EXAMPLES / "README.md").read_text().splitlines()
    return {m["path"]: m for m in map(README_ROW.match, lines) if m}


def test_the_readme_links_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    missing = [e.relative for e in all_examples() if f"]({e.relative})" not in readme]
    assert not missing


def _rejection(example: Example) -> Rejection:
    if example.expected_reason == DUPLICATE_REASON:
        return CONFLICT
    rejection = PARSERS[example.topic](example.raw)
    assert isinstance(rejection, Rejection)
    return rejection


@pytest.mark.parametrize(
    "example", [e for topic in PARSERS for e in examples(topic, valid=False)], ids=lambda e: e.relative
)
def test_the_readme_states_each_rejection_and_the_field_its_detail_names(example: Example) -> None:
    row = _readme_rows()[example.relative]
    assert row["reason"] == example.expected_reason
    named = re.match(r"`([^`]+)`", row["names"])
    if named:
        assert named[1] in _rejection(example).detail


def test_the_examples_folder_holds_only_the_topics_of_the_contract() -> None:
    assert {p.name for p in EXAMPLES.iterdir() if p.is_dir()} == set(SCHEMAS)
