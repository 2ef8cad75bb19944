from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import JsonValue, ValidationError

from amnesty_contracts import (
    SUBMISSION_ADAPTER,
    SUBMISSION_MODELS,
    Article,
    Branch,
    CaseOpened,
    Channel,
    Rejection,
    RejectionReason,
    Submission,
    VoluntaryReturn,
    canonical_submission,
    parse_submission,
)
from amnesty_contracts.submissions import canonical_json
from tests.fuzz.upstream_messages import near_valid_submissions

from .examples import CASE_NUMBER, OPTIONAL_FIELDS, PERSON_ID, SUBMISSION_TYPES, TODAY, encode, submission


def accepted(message: dict[str, JsonValue], today: date = TODAY) -> Submission:
    result = parse_submission(encode(message), today=today)
    assert not isinstance(result, Rejection), result
    return result


def refused(message: dict[str, JsonValue], today: date = TODAY) -> Rejection:
    result = parse_submission(encode(message), today=today)
    assert isinstance(result, Rejection), result
    return result


@pytest.mark.parametrize("type_name", SUBMISSION_TYPES)
def test_every_type_is_accepted_with_its_required_fields_only(type_name: str) -> None:
    result = accepted(submission(type_name))
    assert isinstance(result, SUBMISSION_MODELS[type_name])
    assert result.type == type_name
    assert result.person_id == PERSON_ID


@pytest.mark.parametrize("type_name", SUBMISSION_TYPES)
def test_every_type_is_accepted_with_all_its_optional_fields(type_name: str) -> None:
    result = accepted(submission(type_name, **OPTIONAL_FIELDS[type_name]))
    dumped = result.model_dump(mode="json")
    assert {name: dumped[name] for name in OPTIONAL_FIELDS[type_name]} == OPTIONAL_FIELDS[type_name]


@pytest.mark.parametrize(
    ("type_name", "occurred_on"),
    [
        ("CaseOpened", date(2025, 1, 20)),
        ("VoluntaryReturn", date(2025, 5, 20)),
        ("Detained", date(2025, 5, 21)),
        ("CaseReclassified", date(2025, 3, 1)),
        ("CaseClosed", date(2025, 4, 1)),
    ],
)
def test_the_business_date_is_the_date_of_the_fact(type_name: str, occurred_on: date) -> None:
    assert accepted(submission(type_name)).occurred_on == occurred_on


def test_values_are_typed_with_the_contracts_vocabulary() -> None:
    opened = accepted(submission("CaseOpened", branch="NGU", article_part=4))
    assert isinstance(opened, CaseOpened)
    assert opened.article is Article.UNAUTHORIZED_ABSENCE
    assert opened.branch is Branch.NGU
    assert opened.registered_on == date(2025, 1, 20)
    returned = accepted(submission("VoluntaryReturn"))
    assert isinstance(returned, VoluntaryReturn)
    assert returned.channel is Channel.ARMY_PLUS


@pytest.mark.parametrize(
    ("type_name", "changes", "detail"),
    [
        (
            "CaseOpened",
            {"case_number": "1" * 16},
            "case_number: must be an ERDR proceeding number (17 digits)",
        ),
        (
            "CaseOpened",
            {"case_number": "1" * 18},
            "case_number: must be an ERDR proceeding number (17 digits)",
        ),
        (
            "CaseOpened",
            {"case_number": "1 " * 17},
            "case_number: must be an ERDR proceeding number (17 digits)",
        ),
        ("CaseOpened", {"case_number": 12025100000004217}, "case_number: Input should be a valid string"),
        ("CaseOpened", {"article": "409"}, "article: Input should be '407' or '408'"),
        ("CaseOpened", {"article": 407}, "article: Input should be '407' or '408'"),
        ("CaseOpened", {"article_part": 0}, "article_part: Input should be greater than 0"),
        ("CaseOpened", {"article_part": -5}, "article_part: Input should be greater than 0"),
        (
            "CaseOpened",
            {"article_part": 2**53},
            "article_part: Input should be less than or equal to 9007199254740991",
        ),
        ("CaseOpened", {"article_part": "5"}, "article_part: Input should be a valid integer"),
        ("CaseOpened", {"article_part": 5.0}, "article_part: Input should be a valid integer"),
        ("CaseOpened", {"article_part": True}, "article_part: Input should be a valid integer"),
        ("CaseOpened", {"region": "UA-99"}, "region: Input should be 'UA-05'"),
        ("CaseOpened", {"region": "ua-48"}, "region: Input should be 'UA-05'"),
        ("CaseOpened", {"region": "UA-48 "}, "region: Input should be 'UA-05'"),
        ("CaseOpened", {"branch": "army"}, "branch: Input should be 'ZSU', 'NGU', 'DPSU' or 'DSST'"),
        ("CaseOpened", {"unit": ""}, "unit: must be a unit designation"),
        ("CaseOpened", {"unit": "line\nbreak"}, "unit: must be a unit designation"),
        ("CaseOpened", {"registered_on": "2025-02-30"}, "registered_on: is not a real calendar date"),
        ("CaseOpened", {"absent_since": "2025-02-29"}, "absent_since: is not a real calendar date"),
        ("CaseOpened", {"registered_on": "2025-01-20T00:00:00"}, "registered_on: must be a date written"),
        ("CaseOpened", {"registered_on": 20250120}, "registered_on: must be a date written"),
        ("CaseOpened", {"registered_on": "2025-06-02"}, "registered_on: date is in the future"),
        ("CaseOpened", {"absent_since": "2025-01-21"}, "absent_since: must be on or before registered_on"),
        ("VoluntaryReturn", {"channel": "email"}, "channel: Input should be 'unit', 'reserve-battalion'"),
        ("VoluntaryReturn", {"returned_on": "2025-06-02"}, "returned_on: date is in the future"),
        (
            "VoluntaryReturn",
            {"case_number": "123"},
            "case_number: must be an ERDR proceeding number (17 digits)",
        ),
        ("Detained", {"detained_on": None}, "detained_on: must be a date written"),
        ("Detained", {"region": "UA-00"}, "region: Input should be 'UA-05'"),
        ("CaseReclassified", {"article": "407.5"}, "article: Input should be '407' or '408'"),
        ("CaseReclassified", {"reclassified_on": "2025/03/01"}, "reclassified_on: must be a date written"),
        (
            "CaseClosed",
            {"outcome": "acquitted"},
            "outcome: Input should be 'released', 'convicted' or 'other'",
        ),
        ("CaseClosed", {"closed_on": "2099-01-01"}, "closed_on: date is in the future"),
        ("CaseClosed", {"source": ""}, "source: String should have at least 1 character"),
        ("CaseClosed", {"source": 12}, "source: Input should be a valid string"),
        (
            "CaseClosed",
            {"submission_id": "x" * 129},
            "submission_id: String should have at most 128 characters",
        ),
        ("CaseClosed", {"person_id": ""}, "person_id: must be a tax number (10 digits) or a service number"),
        (
            "CaseClosed",
            {"person_id": "1" * 65},
            "person_id: must be a tax number (10 digits) or a service number",
        ),
        (
            "CaseClosed",
            {"person_id": "12\t34"},
            "person_id: must be a tax number (10 digits) or a service number",
        ),
        (
            "CaseClosed",
            {"person_id": "\ud800"},
            "person_id: must be a tax number (10 digits) or a service number",
        ),
        ("CaseClosed", {"person_id": 1234567890}, "person_id: Input should be a valid string"),
    ],
)
def test_a_malformed_field_is_rejected_naming_the_field(
    type_name: str, changes: dict[str, JsonValue], detail: str
) -> None:
    rejection = refused(submission(type_name, **changes))
    assert rejection.reason is RejectionReason.INVALID_FIELD
    assert rejection.detail.startswith(detail)


@pytest.mark.parametrize(
    ("type_name", "field"),
    [
        (type_name, field)
        for type_name in SUBMISSION_TYPES
        for field in submission(type_name)
        if field not in {"type"}
    ],
)
def test_a_missing_required_field_is_an_invalid_field(type_name: str, field: str) -> None:
    message = submission(type_name)
    del message[field]
    rejection = refused(message)
    assert rejection == Rejection(RejectionReason.INVALID_FIELD, f"{field}: Field required")


def test_every_bad_field_is_named() -> None:
    rejection = refused(submission("CaseOpened", article="409", region="UA-99", registered_on="2025-13-01"))
    assert [part.split(":")[0] for part in rejection.detail.split("; ")] == [
        "article",
        "registered_on",
        "region",
    ]


@pytest.mark.parametrize(
    ("case_number", "accepted_"), [("1" * 16, False), ("1" * 17, True), ("1" * 18, False)]
)
def test_a_case_number_has_exactly_17_digits(case_number: str, accepted_: bool) -> None:
    result = parse_submission(encode(submission("CaseClosed", case_number=case_number)), today=TODAY)
    assert isinstance(result, Rejection) is not accepted_


@pytest.mark.parametrize(
    ("person_id", "accepted_"),
    [
        ("3012345678", True),
        ("BN-417203", True),
        ("bn-417203", True),
        ("301234567", False),
        ("30123456789", False),
        ("Ї" * 10, False),
        ("BN417203", False),
        ("Petrenko Ivan", False),
    ],
)
def test_a_person_id_is_a_tax_number_or_a_service_number(person_id: str, accepted_: bool) -> None:
    result = parse_submission(encode(submission("Detained", person_id=person_id)), today=TODAY)
    assert isinstance(result, Rejection) is not accepted_


def test_absence_and_registration_may_fall_on_the_same_day() -> None:
    accepted(submission("CaseOpened", absent_since="2025-01-20", registered_on="2025-01-20"))


def test_a_date_of_today_is_accepted_and_tomorrow_is_not() -> None:
    accepted(submission("VoluntaryReturn", returned_on="2025-05-20"), today=date(2025, 5, 20))
    rejection = refused(submission("VoluntaryReturn", returned_on="2025-05-21"), today=date(2025, 5, 20))
    assert rejection.detail == "returned_on: date is in the future"


def test_a_leap_day_is_a_real_date() -> None:
    accepted(submission("CaseClosed", closed_on="2024-02-29"))


def test_unknown_fields_are_ignored_and_not_kept() -> None:
    result = accepted(submission("Detained", added_in_v1_1="whatever", name="Ivan"))
    assert "added_in_v1_1" not in result.model_dump()
    assert "name" not in result.model_dump_json()


def test_an_optional_field_sent_as_null_counts_as_absent() -> None:
    with_null = accepted(submission("VoluntaryReturn", case_number=None, region=None, unit=None))
    assert with_null == accepted(submission("VoluntaryReturn"))


def test_submissions_are_immutable() -> None:
    result = accepted(submission("CaseClosed"))
    with pytest.raises(ValidationError):
        result.case_number = "0" * 17  # type: ignore[misc]


def test_python_code_may_build_a_submission_without_naming_its_type() -> None:
    built = CaseOpened(
        source="erdr",
        submission_id="x",
        person_id=PERSON_ID,
        case_number=CASE_NUMBER,
        article=Article.DESERTION,
        absent_since=date(2025, 1, 1),
        registered_on=date(2025, 1, 5),
        region="UA-48",
    )
    assert built.type == "CaseOpened"


def test_the_union_reads_json_directly() -> None:
    result = SUBMISSION_ADAPTER.validate_json(encode(submission("CaseClosed")), context={"today": TODAY})
    assert result.type == "CaseClosed"


def test_same_content_has_the_same_fingerprint() -> None:
    first = accepted(submission("VoluntaryReturn", unit="u1"))
    assert canonical_submission(first) == canonical_submission(
        accepted(submission("VoluntaryReturn", unit="u1"))
    )
    assert canonical_submission(first) == canonical_submission(
        accepted({"ignored": 1, **submission("VoluntaryReturn", unit="u1")})
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"unit": "u2"},
        {"returned_on": "2025-05-19"},
        {"channel": "unit"},
        {"person_id": "3000000001"},
        {"source": "x"},
    ],
)
def test_different_content_has_a_different_fingerprint(changes: dict[str, JsonValue]) -> None:
    first = accepted(submission("VoluntaryReturn", unit="u1"))
    second = accepted(submission("VoluntaryReturn", **{"unit": "u1", **changes}))
    assert canonical_submission(first) != canonical_submission(second)


def test_absent_and_null_have_the_same_fingerprint() -> None:
    absent = accepted(submission("Detained"))
    null = accepted(submission("Detained", region=None))
    assert canonical_submission(absent) == canonical_submission(null)


def test_a_submission_id_must_not_carry_a_person_id_in_another_case() -> None:
    """The person_id is kept upper-cased: compared as typed, a record id holding it in lower case
    (bn-417203) passed, and travelled on past intake in the events' correlation ids."""
    raw = json.dumps(
        {
            "type": "Detained",
            "source": "military-police",
            "submission_id": "bn-417203",
            "person_id": "bn-417203",
            "detained_on": "2024-11-20",
        }
    ).encode()
    parsed = parse_submission(raw, today=date(2025, 10, 1))
    assert isinstance(parsed, Rejection), parsed
    assert parsed.detail.startswith("submission_id:")


@pytest.mark.parametrize(
    ("submission_id", "accepted"),
    [
        ("erdr-00000042", True),
        ("record-3012345678", False),  # the person's tax number
        ("12024100000001234", False),  # the case number
        ("12024100000001234/1", False),
    ],
)
def test_a_submission_id_must_not_carry_a_raw_identifier(submission_id: str, accepted: bool) -> None:
    raw = json.dumps(
        {
            "type": "CaseOpened",
            "source": "erdr",
            "submission_id": submission_id,
            "person_id": "3012345678",
            "case_number": "12024100000001234",
            "article": "407",
            "absent_since": "2024-11-02",
            "registered_on": "2024-11-20",
            "region": "UA-48",
        }
    ).encode()
    parsed = parse_submission(raw, today=date(2025, 10, 1))
    if accepted:
        assert not isinstance(parsed, Rejection), parsed
    else:
        assert isinstance(parsed, Rejection)
        assert parsed.reason == RejectionReason.INVALID_FIELD
        assert parsed.detail.startswith("submission_id:")
        assert "3012345678" not in parsed.detail
        assert "12024100000001234" not in parsed.detail


def _as_first_written(submission: Submission) -> bytes:
    """The canonical bytes as they were first written: intake's submission log keeps digests of them,
    so a resend after an upgrade must come out the same, byte for byte."""
    content = submission.model_dump(mode="json", exclude_none=True)
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@settings(suppress_health_check=[HealthCheck.filter_too_much])
@given(near_valid_submissions())
def test_the_fingerprint_keeps_its_first_bytes(candidate: dict[str, JsonValue]) -> None:
    parsed = parse_submission(json.dumps(candidate).encode(), today=TODAY)
    assume(not isinstance(parsed, Rejection))
    assert not isinstance(parsed, Rejection)
    assert canonical_submission(parsed) == _as_first_written(parsed)


# What a fingerprint's content can hold, written alike by both encoders: printable text (quotes,
# backslashes, any script), integers of any size, booleans, keys in any order.
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20).filter(str.isprintable),
        st.one_of(st.text().filter(str.isprintable), st.integers(), st.booleans()),
        max_size=12,
    )
)
def test_the_fingerprint_encoder_writes_what_json_dumps_wrote(content: dict[str, object]) -> None:
    assert (
        canonical_json(content)
        == json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


def test_the_largest_article_part_keeps_its_fingerprint() -> None:
    largest = accepted(submission("CaseOpened", article_part=2**53 - 1))
    assert canonical_submission(largest) == _as_first_written(largest)
