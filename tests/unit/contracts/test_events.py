from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel, JsonValue, ValidationError

from amnesty_contracts import (
    CASE_EVENT_ADAPTER,
    CASE_EVENT_MODELS,
    DECISION_EVENT_ADAPTER,
    DECISION_EVENT_MODELS,
    AmnestyGrantedEvent,
    AmnestyRevokedEvent,
    CaseEvent,
    CaseOpenedEvent,
    DecisionEvent,
    DenialReason,
    Event,
    Rejection,
    RejectionReason,
    Submission,
    case_event_document,
    new_event_id,
    parse_case_event,
    parse_decision_event,
    parse_submission,
)

from .examples import (
    CASE,
    CASE_EVENT_DATA,
    CASE_NUMBER,
    CORRELATION_ID,
    DECISION_EVENT_DATA,
    EVENT_ID,
    GRANT_ID,
    OPTIONAL_FIELDS,
    PERSON,
    PERSON_ID,
    RECORDED_AT,
    SUBMISSION_TYPES,
    TODAY,
    encode,
    envelope,
    submission,
)

Parser = Callable[[bytes], BaseModel | Rejection]

ALL_EVENTS: list[tuple[str, dict[str, JsonValue], Parser]] = [
    *((name, data, parse_case_event) for name, data in CASE_EVENT_DATA.items()),
    *((name, data, parse_decision_event) for name, data in DECISION_EVENT_DATA.items()),
]


def test_every_event_type_has_an_example() -> None:
    assert set(CASE_EVENT_DATA) == set(CASE_EVENT_MODELS)
    assert set(DECISION_EVENT_DATA) == set(DECISION_EVENT_MODELS)


@pytest.mark.parametrize(("type_name", "data", "parse"), ALL_EVENTS)
def test_every_event_survives_a_json_round_trip(
    type_name: str, data: dict[str, JsonValue], parse: Parser
) -> None:
    raw = encode(envelope(type_name, data))
    event = parse(raw)
    assert isinstance(event, Event)
    assert event.type == type_name
    again = parse(event.model_dump_json().encode())
    assert again == event
    assert json.loads(event.model_dump_json()) == json.loads(raw)


@pytest.mark.parametrize(("type_name", "data", "parse"), ALL_EVENTS)
def test_one_adapter_per_topic_reads_every_event_of_it(
    type_name: str, data: dict[str, JsonValue], parse: Parser
) -> None:
    adapter = CASE_EVENT_ADAPTER if parse is parse_case_event else DECISION_EVENT_ADAPTER
    event = adapter.validate_json(encode(envelope(type_name, data)))
    assert type(event).__name__ == f"{type_name}Event"


def test_events_serialize_dates_instants_and_ids_as_the_contract_says() -> None:
    event = parse_decision_event(encode(envelope("AmnestyGranted", DECISION_EVENT_DATA["AmnestyGranted"])))
    assert isinstance(event, AmnestyGrantedEvent)
    assert event.event_id == EVENT_ID
    assert event.occurred_on == date(2025, 5, 20)
    assert event.recorded_at == RECORDED_AT
    dumped = json.loads(event.model_dump_json())
    assert dumped["event_id"] == str(EVENT_ID)
    assert dumped["occurred_on"] == "2025-05-20"
    assert dumped["recorded_at"] == "2025-06-01T09:30:00Z"
    assert dumped["data"]["reinstate_by"] == "2025-05-23T00:00:00+03:00"
    assert dumped["correlation_id"] == str(CORRELATION_ID)
    assert dumped["schema_version"] == 1


def test_events_are_immutable() -> None:
    event = parse_case_event(encode(envelope("CaseOpened", CASE_EVENT_DATA["CaseOpened"])))
    assert isinstance(event, CaseOpenedEvent)
    with pytest.raises(ValidationError):
        event.person = "someone-else"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        event.data.region = "UA-05"  # type: ignore[misc]


def test_absent_optional_fields_are_written_as_null() -> None:
    event = parse_case_event(encode(envelope("Detained", {"detained_on": "2025-05-21"})))
    assert isinstance(event, Event)
    assert json.loads(event.model_dump_json())["data"] == {
        "detained_on": "2025-05-21",
        "case_number": None,
        "region": None,
    }


def test_a_newer_producers_extra_fields_are_ignored() -> None:
    data = {**CASE_EVENT_DATA["Detained"], "added_later": True}
    event = parse_case_event(encode(envelope("Detained", data, trace="x")))
    assert isinstance(event, Event)
    assert "added_later" not in event.model_dump_json()


@pytest.mark.parametrize(
    ("type_name", "changes", "detail"),
    [
        ("CaseOpened", {"event_id": str(uuid4())}, "event_id: UUID version 7 expected"),
        ("CaseOpened", {"event_id": "not-a-uuid"}, "event_id: Input should be a valid UUID"),
        ("CaseOpened", {"schema_version": 0}, "schema_version: Input should be greater than or equal to 1"),
        ("CaseOpened", {"schema_version": "1"}, "schema_version: Input should be a valid integer"),
        ("CaseOpened", {"recorded_at": "2025-06-01T09:30:00"}, "recorded_at: must be an RFC 3339 date-time"),
        ("CaseOpened", {"recorded_at": 1748770200}, "recorded_at: must be an RFC 3339 date-time"),
        ("CaseOpened", {"occurred_on": "2025-02-30"}, "occurred_on: is not a real calendar date"),
        ("CaseOpened", {"person": PERSON_ID + "@"}, "person: String should match pattern"),
        ("CaseOpened", {"person": ""}, "person: String should match pattern"),
        ("CaseOpened", {"correlation_id": None}, "correlation_id: UUID input should be"),
        ("CaseOpened", {"submission": {"source": "erdr"}}, "submission.submission_id: Field required"),
        ("CaseOpened", {"data": {}}, "data.case_number: Field required"),
    ],
)
def test_a_malformed_envelope_is_an_invalid_field(
    type_name: str, changes: dict[str, JsonValue], detail: str
) -> None:
    rejection = parse_case_event(encode(envelope(type_name, CASE_EVENT_DATA[type_name], **changes)))
    assert isinstance(rejection, Rejection)
    assert rejection.reason is RejectionReason.INVALID_FIELD
    assert detail in rejection.detail


@pytest.mark.parametrize(
    ("type_name", "changes", "detail"),
    [
        ("AmnestyGranted", {"regime": "Window 3"}, "data.regime: String should match pattern"),
        ("AmnestyGranted", {"reinstate_by": "2025-05-23"}, "data.reinstate_by: must be an RFC 3339"),
        ("AmnestyGranted", {"facts": []}, "data.facts: Input should be a valid dictionary"),
        ("AmnestyGranted", {"rule_set": ""}, "data.rule_set: String should have at least 1 character"),
        ("AmnestyDenied", {"reason": "late"}, "data.reason: Input should be 'repeat-offence'"),
        ("EligibilityPending", {"reason": "outside-window"}, "data.reason: Input should be 'case-unknown'"),
        ("AmnestyRevoked", {"revokes": str(uuid4())}, "data.revokes: UUID version 7 expected"),
    ],
)
def test_a_malformed_decision_is_an_invalid_field(
    type_name: str, changes: dict[str, JsonValue], detail: str
) -> None:
    data = {**DECISION_EVENT_DATA[type_name], **changes}
    rejection = parse_decision_event(encode(envelope(type_name, data)))
    assert isinstance(rejection, Rejection)
    assert rejection.reason is RejectionReason.INVALID_FIELD
    assert detail in rejection.detail


def test_a_new_regime_is_data_not_a_schema_change() -> None:
    data = {**DECISION_EVENT_DATA["AmnestyGranted"], "regime": "window-3"}
    assert isinstance(parse_decision_event(encode(envelope("AmnestyGranted", data))), AmnestyGrantedEvent)


def test_a_revocation_names_the_grant_and_the_reason() -> None:
    event = parse_decision_event(encode(envelope("AmnestyRevoked", DECISION_EVENT_DATA["AmnestyRevoked"])))
    assert isinstance(event, AmnestyRevokedEvent)
    assert event.data.revokes == GRANT_ID
    assert event.data.reason is DenialReason.REPEAT_OFFENCE


@pytest.mark.parametrize(
    ("parse", "type_name"),
    [
        (parse_case_event, "AmnestyGranted"),
        (parse_decision_event, "CaseOpened"),
        (parse_case_event, "CaseMerged"),
    ],
)
def test_an_event_type_foreign_to_the_topic_is_an_unknown_type(parse: Parser, type_name: str) -> None:
    rejection = parse(encode(envelope(type_name, {})))
    assert isinstance(rejection, Rejection)
    assert rejection.reason is RejectionReason.UNKNOWN_TYPE


@pytest.mark.parametrize("parse", [parse_case_event, parse_decision_event])
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xc3\x28", RejectionReason.INVALID_ENCODING),
        (b"{", RejectionReason.INVALID_JSON),
        (b"[]", RejectionReason.NOT_AN_OBJECT),
        (b" " * 65537, RejectionReason.TOO_LARGE),
    ],
)
def test_unreadable_events_are_rejections_too(parse: Parser, raw: bytes, reason: RejectionReason) -> None:
    rejection = parse(raw)
    assert isinstance(rejection, Rejection)
    assert rejection.reason is reason


def test_new_event_ids_are_unique_uuid7() -> None:
    ids = [new_event_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(isinstance(event_id, UUID) and event_id.version == 7 for event_id in ids)


def test_an_event_built_in_python_gets_a_fresh_uuid7() -> None:
    event = CASE_EVENT_ADAPTER.validate_python(
        {k: v for k, v in envelope("Detained", CASE_EVENT_DATA["Detained"]).items() if k != "event_id"}
    )
    assert event.event_id.version == 7
    assert event.event_id != EVENT_ID


def valid_submission(type_name: str) -> Submission:
    result = parse_submission(encode(submission(type_name, **OPTIONAL_FIELDS[type_name])), today=TODAY)
    assert not isinstance(result, Rejection)
    return result


def record(submission_: Submission, recorded_at: datetime = RECORDED_AT) -> CaseEvent:
    return CASE_EVENT_ADAPTER.validate_python(document_of(submission_, recorded_at))


def document_of(submission_: Submission, recorded_at: datetime = RECORDED_AT) -> dict[str, Any]:
    return case_event_document(
        submission_,
        person=PERSON,
        pseudonymize_case=lambda number: CASE if number == CASE_NUMBER else "wrong",
        pseudonymize_submission_id=lambda submission_id: "submission-" + submission_id,
        pseudonymize_unit=lambda unit: "unit-pseudonym",
        recorded_at=recorded_at,
        correlation_id=CORRELATION_ID,
        causation_id=CORRELATION_ID,
        event_id=EVENT_ID,
    )


@pytest.mark.parametrize("type_name", SUBMISSION_TYPES)
def test_a_submission_is_recorded_as_its_case_event_without_raw_identifiers(type_name: str) -> None:
    source = valid_submission(type_name)
    event = record(source)
    assert event.type == type_name
    assert event.occurred_on == source.occurred_on
    assert (event.person, event.recorded_at, event.event_id) == (PERSON, RECORDED_AT, EVENT_ID)
    assert event.submission.source == source.source
    assert event.submission.submission_id == "submission-" + source.submission_id
    text = event.model_dump_json()
    assert PERSON_ID not in text
    assert CASE_NUMBER not in text
    assert "person_id" not in text


@pytest.mark.parametrize("type_name", SUBMISSION_TYPES)
def test_a_case_event_keeps_every_other_field_of_its_submission(type_name: str) -> None:
    source = valid_submission(type_name)
    event = record(source)
    kept = source.model_dump(mode="json", exclude={"type", "source", "submission_id", "person_id"})
    if kept.get("case_number") is not None:
        kept["case_number"] = CASE
    if kept.get("unit") is not None:
        kept["unit"] = "unit-pseudonym"
    assert event.data.model_dump(mode="json") == kept


@pytest.mark.parametrize("with_optional_fields", [True, False])
@pytest.mark.parametrize("type_name", SUBMISSION_TYPES)
def test_the_document_intake_stores_is_the_case_event_as_its_model_dumps_it(
    type_name: str, with_optional_fields: bool
) -> None:
    # Intake stores and publishes the document without validating it as an event: it must already be
    # exactly what the model would make of it, every field, format and default.
    fields = OPTIONAL_FIELDS[type_name] if with_optional_fields else {}
    source = parse_submission(encode(submission(type_name, **fields)), today=TODAY)
    assert not isinstance(source, Rejection)
    document = document_of(source)
    dumped = CASE_EVENT_ADAPTER.validate_python(document).model_dump(mode="json")
    assert dumped == document
    # Published and signed as these bytes: the fields in the model's order, the data's too.
    assert list(dumped) == list(document)
    assert list(dumped["data"]) == list(document["data"])
    # And a consumer reading the published bytes gets that event.
    assert parse_case_event(json.dumps(document).encode()) == CASE_EVENT_ADAPTER.validate_python(document)


def test_the_document_keeps_the_offset_it_was_recorded_at() -> None:
    source = valid_submission("Detained")
    in_utc = RECORDED_AT
    in_kyiv = RECORDED_AT.astimezone(timezone(timedelta(hours=3)))
    assert in_utc == in_kyiv  # one instant: equal, and equal as a cache's key
    for recorded_at in (in_utc, in_kyiv, in_utc):
        assert (
            document_of(source, recorded_at)["recorded_at"]
            == record(source, recorded_at).model_dump(mode="json")["recorded_at"]
        )
    assert document_of(source, in_kyiv)["recorded_at"].endswith("+03:00")


def test_a_return_without_a_case_number_is_recorded_without_one() -> None:
    returned = parse_submission(encode(submission("VoluntaryReturn")), today=TODAY)
    assert not isinstance(returned, Rejection)
    event = record(returned)
    assert event.data.model_dump()["case_number"] is None


def test_recording_requires_an_aware_time() -> None:
    with pytest.raises(ValidationError):
        document_of(valid_submission("Detained"), datetime(2025, 6, 1))  # noqa: DTZ001 - naive is the point


def test_decision_union_covers_every_decision_model() -> None:
    names: set[str] = set()
    for type_name, data in DECISION_EVENT_DATA.items():
        event: DecisionEvent = DECISION_EVENT_ADAPTER.validate_json(encode(envelope(type_name, data)))
        names.add(event.type)
    assert names == set(DECISION_EVENT_MODELS)
