"""Event signatures: a record signed by its producer verifies; any change to what it claims does not."""

from __future__ import annotations

import pytest

from amnesty_contracts import RejectionReason
from amnesty_eventstore.signatures import (
    KEY_ID_HEADER,
    PRODUCER_HEADER,
    SIGNATURE_HEADER,
    Signer,
    SigningKey,
    Verifier,
    signed_bytes,
)

INTAKE = SigningKey("intake", b"i" * 32)
INTAKE_NEXT = SigningKey("intake", b"n" * 32)
ELIGIBILITY = SigningKey("eligibility", b"e" * 32)
PRODUCERS = {"cases": "intake", "decisions": "eligibility"}
VALUE = b'{"type":"CaseOpened","event_id":"0190"}'


def verify(
    headers: list[tuple[str, bytes]],
    *,
    topic: str = "cases",
    key: bytes | None = b"p1",
    value: bytes = VALUE,
    keys: tuple[SigningKey, ...] = (INTAKE, ELIGIBILITY),
) -> RejectionReason | None:
    return Verifier(keys, PRODUCERS).check(topic, key, value, headers)


def test_a_record_signed_by_its_topics_producer_verifies() -> None:
    assert verify(Signer(INTAKE).headers("cases", b"p1", VALUE)) is None


def test_a_record_without_a_key_verifies_and_differs_from_one_with_an_empty_key() -> None:
    headers = Signer(INTAKE).headers("cases", None, VALUE)
    assert verify(headers, key=None) is None
    assert verify(headers, key=b"") is RejectionReason.BAD_SIGNATURE


def test_the_headers_name_the_producer_and_its_key() -> None:
    headers = dict(Signer(INTAKE).headers("cases", b"p1", VALUE))
    assert headers[PRODUCER_HEADER] == b"intake"
    assert headers[KEY_ID_HEADER] == INTAKE.key_id.encode()
    assert len(headers[SIGNATURE_HEADER]) == 64


def test_an_unsigned_record_is_refused_as_unsigned() -> None:
    assert verify([("event-id", b"0190")]) is RejectionReason.UNSIGNED


def test_a_record_missing_one_provenance_header_is_unsigned() -> None:
    headers = [h for h in Signer(INTAKE).headers("cases", b"p1", VALUE) if h[0] != KEY_ID_HEADER]
    assert verify(headers) is RejectionReason.UNSIGNED


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"value": VALUE.replace(b"CaseOpened", b"CaseClosed")}, RejectionReason.BAD_SIGNATURE),
        ({"key": b"p2"}, RejectionReason.BAD_SIGNATURE),
        ({"topic": "decisions"}, RejectionReason.PRODUCER_NOT_ALLOWED),
        ({"topic": "somewhere-else"}, RejectionReason.PRODUCER_NOT_ALLOWED),
    ],
)
def test_a_signed_record_changed_in_any_part_is_refused(
    change: dict[str, bytes | str], reason: RejectionReason
) -> None:
    assert verify(Signer(INTAKE).headers("cases", b"p1", VALUE), **change) is reason  # type: ignore[arg-type]


def test_the_producer_of_one_topic_cannot_publish_to_another() -> None:
    headers = Signer(ELIGIBILITY).headers("cases", b"p1", VALUE)
    assert verify(headers) is RejectionReason.PRODUCER_NOT_ALLOWED


def test_a_forger_claiming_the_producer_without_its_key_is_refused() -> None:
    forger = SigningKey("intake", b"f" * 32)
    assert verify(Signer(forger).headers("cases", b"p1", VALUE)) is RejectionReason.UNKNOWN_KEY


def test_a_forged_signature_under_a_trusted_key_id_is_refused() -> None:
    headers = [
        (PRODUCER_HEADER, b"intake"),
        (KEY_ID_HEADER, INTAKE.key_id.encode()),
        (SIGNATURE_HEADER, b"0" * 64),
    ]
    assert verify(headers) is RejectionReason.BAD_SIGNATURE


def test_during_a_rotation_both_keys_verify_and_a_retired_one_no_longer_does() -> None:
    old, new = (
        Signer(INTAKE).headers("cases", b"p1", VALUE),
        Signer(INTAKE_NEXT).headers("cases", b"p1", VALUE),
    )
    assert verify(old, keys=(INTAKE, INTAKE_NEXT)) is None
    assert verify(new, keys=(INTAKE, INTAKE_NEXT)) is None
    assert verify(old, keys=(INTAKE_NEXT,)) is RejectionReason.UNKNOWN_KEY


def test_fields_cannot_be_shifted_from_one_into_the_next() -> None:
    assert signed_bytes("ab", b"c", "intake", "k", b"v") != signed_bytes("a", b"bc", "intake", "k", b"v")


def test_a_short_key_is_refused_and_a_key_never_shows_its_secret() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        SigningKey("intake", b"short")
    assert "iiii" not in repr(INTAKE)


def test_a_signature_stays_what_it_was_across_releases() -> None:
    # Producers and consumers of one topic are upgraded one at a time: a signature made by one release
    # must verify in the next. HMAC-SHA256 of signed_bytes; the expected values were computed with
    # hmac.new over the whole of signed_bytes, independently of the keyed state the signer keeps.
    key = SigningKey("intake", bytes(range(32)))
    assert key.key_id == "0bb9293d07f44efc"
    value = b'{"type":"CaseOpened"}'
    signed = dict(Signer(key).headers("amnesty.cases.v1", b"p_person", value))
    assert signed[SIGNATURE_HEADER] == b"2607106db50575dc5c378ce4bf197f7e8f0fa4d3ce1ba6f820afdb5be926f564"
    unkeyed = dict(Signer(key).headers("amnesty.cases.v1", None, value))
    assert unkeyed[SIGNATURE_HEADER] == b"86f5e4bd368c27909c81c76efea4b17f7980bb8fc8aee0cf17e78dbdaf1086e1"
    verifier = Verifier([key], {"amnesty.cases.v1": "intake"})
    assert verifier.check("amnesty.cases.v1", b"p_person", value, list(signed.items())) is None
