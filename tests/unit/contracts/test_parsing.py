from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, JsonValue

from amnesty_contracts import (
    MAX_MESSAGE_BYTES,
    CaseClosed,
    Rejection,
    RejectionReason,
    parse_json_document,
    parse_submission,
    ukraine_today,
    validate_submission,
)

from .examples import CASE_NUMBER, PERSON_ID, SUBMISSION_TYPES, TODAY, encode, submission


def padded_to(size: int) -> bytes:
    """A valid CaseClosed submission of exactly `size` bytes, grown by an ignored extra field."""
    message = submission("CaseClosed", padding="")
    room = size - len(encode(message))
    raw = encode({**message, "padding": "x" * room})
    assert len(raw) == size
    return raw


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        (b"\xff\xfe{}", RejectionReason.INVALID_ENCODING, "not valid UTF-8 at byte 0"),
        (
            b'{"type": "Detained", "x": "\xe9"}',
            RejectionReason.INVALID_ENCODING,
            "not valid UTF-8 at byte 27",
        ),
        (b"", RejectionReason.INVALID_JSON, "Expecting value at line 1 column 1"),
        (b"{", RejectionReason.INVALID_JSON, "Expecting property name enclosed in double quotes"),
        (b"{'type': 'Detained'}", RejectionReason.INVALID_JSON, "Expecting property name"),
        (b'{"type": "Detained"} {}', RejectionReason.INVALID_JSON, "Extra data at line 1 column 22"),
        ("\ufeff{}".encode(), RejectionReason.INVALID_JSON, "Unexpected UTF-8 BOM"),
        (b'{"n": NaN}', RejectionReason.INVALID_JSON, "NaN is not valid JSON"),
        (b'{"n": -Infinity}', RejectionReason.INVALID_JSON, "-Infinity is not valid JSON"),
        (b'{"n": ' + b"9" * 5000 + b"}", RejectionReason.INVALID_JSON, "a number has too many digits"),
        (b"[" * 60000, RejectionReason.INVALID_JSON, "nested too deeply"),
        (b'{"type": "Detained", "type": "Detained"}', RejectionReason.INVALID_JSON, "duplicate key 'type'"),
        (b'{"a": {"b": 1, "b": 1}}', RejectionReason.INVALID_JSON, "duplicate key 'b' in an object"),
        (b'{"K 1": 1, "K 1": 2}', RejectionReason.INVALID_JSON, "duplicate key in an object"),
        (b"[]", RejectionReason.NOT_AN_OBJECT, "expected a JSON object, got an array"),
        (b'"CaseOpened"', RejectionReason.NOT_AN_OBJECT, "expected a JSON object, got a string"),
        (b"407", RejectionReason.NOT_AN_OBJECT, "expected a JSON object, got a number"),
        (b"true", RejectionReason.NOT_AN_OBJECT, "expected a JSON object, got a boolean"),
        (b"null", RejectionReason.NOT_AN_OBJECT, "expected a JSON object, got null"),
        (b"{}", RejectionReason.UNKNOWN_TYPE, "type: field required"),
        (b'{"type": null}', RejectionReason.UNKNOWN_TYPE, "type: field required"),
        (b'{"type": "CaseMerged"}', RejectionReason.UNKNOWN_TYPE, "type: must be one of CaseOpened, "),
        (b'{"type": "caseopened"}', RejectionReason.UNKNOWN_TYPE, "type: must be one of"),
        (b'{"type": ["CaseOpened"]}', RejectionReason.UNKNOWN_TYPE, "type: must be one of"),
        (b'{"type": "Detained"}', RejectionReason.INVALID_FIELD, "source: Field required"),
        (
            b"x" * (MAX_MESSAGE_BYTES + 1),
            RejectionReason.TOO_LARGE,
            "message is 65537 bytes, the limit is 65536",
        ),
    ],
)
def test_every_rejection_reason(raw: bytes, reason: RejectionReason, detail: str) -> None:
    rejection = parse_submission(raw, today=TODAY)
    assert isinstance(rejection, Rejection)
    assert rejection.reason is reason
    assert rejection.detail.startswith(detail)


def test_a_message_of_exactly_64_kib_is_accepted() -> None:
    assert isinstance(parse_submission(padded_to(MAX_MESSAGE_BYTES), today=TODAY), CaseClosed)


def test_one_byte_more_is_too_large_even_when_valid() -> None:
    rejection = parse_submission(padded_to(MAX_MESSAGE_BYTES + 1), today=TODAY)
    assert rejection == Rejection(RejectionReason.TOO_LARGE, "message is 65537 bytes, the limit is 65536")


def test_size_is_checked_before_the_encoding() -> None:
    rejection = parse_submission(b"\xff" * (MAX_MESSAGE_BYTES + 1))
    assert isinstance(rejection, Rejection)
    assert rejection.reason is RejectionReason.TOO_LARGE


def test_a_document_limit_can_be_raised_for_an_http_batch() -> None:
    batch = encode([submission("Detained")] * 2000)
    assert len(batch) > MAX_MESSAGE_BYTES
    document = parse_json_document(batch, max_bytes=len(batch))
    assert isinstance(document, list)
    assert all(isinstance(validate_submission(item, today=TODAY), BaseModel) for item in document)


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (submission("Detained"), None),
        ([submission("Detained")], RejectionReason.NOT_AN_OBJECT),
        ({"type": "Unknown"}, RejectionReason.UNKNOWN_TYPE),
        (submission("Detained", detained_on="tomorrow"), RejectionReason.INVALID_FIELD),
    ],
)
def test_an_item_already_decoded_is_validated_alike(item: JsonValue, reason: RejectionReason | None) -> None:
    result = validate_submission(item, today=TODAY)
    assert (result.reason if isinstance(result, Rejection) else None) is reason


def test_without_today_the_date_in_ukraine_bounds_the_future() -> None:
    today = ukraine_today()
    message = submission("Detained", detained_on=today.isoformat())
    assert not isinstance(parse_submission(encode(message)), Rejection)
    tomorrow = submission("Detained", detained_on=(today + timedelta(days=1)).isoformat())
    assert isinstance(parse_submission(encode(tomorrow)), Rejection)


# Each change makes the message invalid while it still carries the raw identifiers somewhere.
LEAKY_CHANGES: list[dict[str, JsonValue]] = [
    {"person_id": PERSON_ID + "x"},
    {"person_id": [PERSON_ID]},
    {"person_id": {"value": PERSON_ID}},
    {"person_id": PERSON_ID * 7},
    {"case_number": CASE_NUMBER[:-1]},
    {"case_number": CASE_NUMBER + "0"},
    {"case_number": int(CASE_NUMBER)},
    {"case_number": f"{CASE_NUMBER} 1"},
    {"case_number": None},
    {"outcome": PERSON_ID},
    {"closed_on": CASE_NUMBER},
    {"source": CASE_NUMBER * 5},
    {"submission_id": PERSON_ID * 30},
    {"type": PERSON_ID},
    {"type": CASE_NUMBER},
]


@pytest.mark.parametrize("changes", LEAKY_CHANGES)
def test_a_detail_never_echoes_a_person_id_or_case_number(changes: dict[str, JsonValue]) -> None:
    rejection = parse_submission(encode(submission("CaseClosed", **changes)), today=TODAY)
    assert isinstance(rejection, Rejection)
    assert PERSON_ID not in rejection.detail
    assert CASE_NUMBER[:16] not in rejection.detail


@given(
    person_id=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=8, max_size=64),
    case_number=st.from_regex(r"\A[0-9]{15,19}\Z"),
    type_name=st.sampled_from(SUBMISSION_TYPES),
    future=st.integers(min_value=1, max_value=3650),
)
def test_no_detail_quotes_raw_identifiers(
    person_id: str, case_number: str, type_name: str, future: int
) -> None:
    date_field = {
        "CaseOpened": "registered_on",
        "VoluntaryReturn": "returned_on",
        "Detained": "detained_on",
        "CaseReclassified": "reclassified_on",
        "CaseClosed": "closed_on",
    }[type_name]
    message = submission(
        type_name,
        person_id=person_id,
        case_number=case_number,
        **{date_field: (TODAY + timedelta(days=future)).isoformat()},
    )
    rejection = parse_submission(encode(message), today=TODAY)
    assert isinstance(rejection, Rejection)
    assert person_id not in rejection.detail
    assert case_number not in rejection.detail


@given(st.binary(max_size=512))
def test_any_bytes_give_a_submission_or_a_rejection(raw: bytes) -> None:
    result = parse_submission(raw, today=TODAY)
    assert isinstance(result, Rejection | BaseModel)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(
    type_name=st.sampled_from(SUBMISSION_TYPES),
    field=st.sampled_from(
        ["person_id", "case_number", "article", "article_part", "region", "registered_on", "channel", "unit"]
    ),
    value=JSON_VALUES,
)
def test_any_json_in_any_field_gives_a_submission_or_a_rejection(
    type_name: str, field: str, value: JsonValue
) -> None:
    result = parse_submission(encode(submission(type_name, **{field: value})), today=TODAY)
    assert isinstance(result, Rejection | BaseModel)
