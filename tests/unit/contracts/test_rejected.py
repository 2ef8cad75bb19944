from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime

import pytest
from pydantic import ValidationError

from amnesty_contracts import (
    MAX_MESSAGE_BYTES,
    UPSTREAM,
    RejectedMessage,
    Rejection,
    RejectionReason,
    parse_submission,
    rejected_message,
)

from .examples import KYIV_SUMMER, PERSON_ID, TODAY, encode, submission

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=KYIV_SUMMER)
CONTRACT_FIELDS = {
    "reason",
    "detail",
    "original",
    "original_sha256",
    "topic",
    "partition",
    "offset",
    "service",
    "rejected_at",
}


def from_kafka(raw: bytes, rejection: Rejection) -> RejectedMessage:
    return rejected_message(
        raw, rejection, topic=UPSTREAM, partition=3, offset=1042, service="intake", now=NOW
    )


def test_a_rejected_message_has_exactly_the_contracts_fields() -> None:
    raw = encode(submission("Detained", detained_on="2025-02-30"))
    rejection = parse_submission(raw, today=TODAY)
    assert isinstance(rejection, Rejection)
    message = json.loads(from_kafka(raw, rejection).model_dump_json())
    assert set(message) == CONTRACT_FIELDS
    assert message == {
        "reason": "invalid-field",
        "detail": "detained_on: is not a real calendar date",
        "original": base64.b64encode(raw).decode(),
        "original_sha256": hashlib.sha256(raw).hexdigest(),
        "topic": "amnesty.upstream.v1",
        "partition": 3,
        "offset": 1042,
        "service": "intake",
        "rejected_at": "2025-06-01T12:00:00+03:00",
    }


def test_the_original_bytes_come_back_exactly() -> None:
    raw = b"\x00\xff not json \xe2\x82"
    message = from_kafka(raw, Rejection(RejectionReason.INVALID_ENCODING, "not valid UTF-8 at byte 1"))
    assert message.original_bytes() == raw


def test_a_large_original_keeps_its_first_64_kib_and_the_digest_of_all() -> None:
    raw = bytes(range(256)) * 1000
    message = from_kafka(raw, Rejection(RejectionReason.TOO_LARGE, "too large"))
    assert message.original_bytes() == raw[:MAX_MESSAGE_BYTES]
    assert message.original_sha256 == hashlib.sha256(raw).hexdigest()
    assert message.original_sha256 != hashlib.sha256(raw[:MAX_MESSAGE_BYTES]).hexdigest()


@pytest.mark.parametrize(
    ("size", "kept"), [(MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES), (MAX_MESSAGE_BYTES + 1, MAX_MESSAGE_BYTES)]
)
def test_truncation_starts_above_64_kib(size: int, kept: int) -> None:
    message = from_kafka(b"a" * size, Rejection(RejectionReason.TOO_LARGE, "too large"))
    assert len(message.original_bytes()) == kept


def test_a_submission_received_over_http_has_no_kafka_coordinates() -> None:
    message = rejected_message(
        b"[]",
        Rejection(RejectionReason.NOT_AN_OBJECT, "expected a JSON object, got an array"),
        topic=None,
        partition=None,
        offset=None,
        service="intake",
        now=NOW,
    )
    dumped = json.loads(message.model_dump_json())
    assert (dumped["topic"], dumped["partition"], dumped["offset"]) == (None, None, None)


def test_it_holds_no_more_personal_data_than_the_original() -> None:
    raw = encode(submission("CaseClosed", person_id=PERSON_ID + "\x07"))
    rejection = parse_submission(raw, today=TODAY)
    assert isinstance(rejection, Rejection)
    text = from_kafka(raw, rejection).model_dump_json()
    assert PERSON_ID not in text  # only inside the base64 original


def test_a_rejected_message_reads_back_from_json() -> None:
    message = from_kafka(b"{}", Rejection(RejectionReason.UNKNOWN_TYPE, "type: field required"))
    assert RejectedMessage.model_validate_json(message.model_dump_json()) == message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("original", "not base64!"),
        ("original_sha256", "ABC"),
        ("reason", "bad-reason"),
        ("offset", -1),
        ("rejected_at", "2025-06-01T12:00:00"),
        ("service", ""),
    ],
)
def test_a_malformed_rejected_message_is_refused(field: str, value: object) -> None:
    message = json.loads(from_kafka(b"{}", Rejection(RejectionReason.UNKNOWN_TYPE, "x")).model_dump_json())
    with pytest.raises(ValidationError, match=field):
        RejectedMessage.model_validate({**message, field: value})


def test_the_rejection_time_must_carry_its_offset() -> None:
    with pytest.raises(ValidationError):
        rejected_message(
            b"{}",
            Rejection(RejectionReason.UNKNOWN_TYPE, "x"),
            topic=UPSTREAM,
            partition=0,
            offset=0,
            service="intake",
            now=datetime(2025, 6, 1),  # noqa: DTZ001 - the naive datetime is the point
        )
