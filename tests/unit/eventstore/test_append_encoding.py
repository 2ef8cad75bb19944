"""Appends flattened into the append function's arrays, and its rows split back per append."""

from __future__ import annotations

import uuid
from datetime import date

import orjson
import pytest

from amnesty_eventstore import (
    ANY,
    NO_STREAM,
    AppendRequest,
    AppendResult,
    ConcurrencyError,
    EventIdConflict,
    NewEvent,
)
from amnesty_eventstore.appending import decode_outcomes, encode_appends, encode_expected_version


def event(
    n: int,
    *,
    topic: str | None = None,
    key: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    occurred_on: date | None = None,
    metadata: dict[str, str] | None = None,
) -> NewEvent:
    return NewEvent(
        uuid.uuid4(),
        "Probe",
        {"n": n},
        occurred_on=occurred_on,
        metadata=metadata or {},
        topic=topic,
        key=key,
        headers=headers,
    )


def test_appends_are_flattened_in_order_with_each_events_append() -> None:
    a = [event(1), event(2)]
    b = [event(3, occurred_on=date(2025, 5, 1), metadata={"correlation_id": "c"})]
    encoded = encode_appends([AppendRequest("s1", a, 0), AppendRequest("s2", b, ANY)])
    assert encoded.stream_ids == ["s1", "s2"]
    assert encoded.expected_versions == [0, -1]
    assert encoded.event_counts == [2, 1]
    assert encoded.append_of == [1, 1, 2]
    assert encoded.event_ids == [e.event_id for e in [*a, *b]]
    assert [orjson.loads(p) for p in encoded.payloads] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert encoded.occurred_ons == [None, None, date(2025, 5, 1)]
    assert encoded.metadatas == [None, None, '{"correlation_id":"c"}']
    arguments = encoded.arguments()
    assert len(arguments) == 15


def test_the_payloads_go_packed_in_one_bytea_with_their_offsets_and_lengths() -> None:
    events = [event(1), NewEvent(uuid.uuid4(), "Probe", {"name": "Олена"}), event(333)]
    _, _, _, _, _, _, _, _, packed, offsets, lengths, *_ = encode_appends(
        [AppendRequest("s", events)]
    ).arguments()
    assert isinstance(packed, bytes)
    assert isinstance(offsets, list)
    assert isinstance(lengths, list)
    payloads = [packed[o : o + n] for o, n in zip(offsets, lengths, strict=True)]
    assert [orjson.loads(p) for p in payloads] == [{"n": 1}, {"name": "Олена"}, {"n": 333}]
    assert offsets[0] == 0
    assert sum(lengths) == len(packed)


def test_without_any_routed_event_the_outbox_arrays_are_null() -> None:
    encoded = encode_appends([AppendRequest("s", [event(1), event(2)])])
    assert (encoded.topics, encoded.keys, encoded.headers) == (None, None, None)


def test_routed_events_carry_topic_key_bytes_and_headers() -> None:
    events = [
        event(1, topic="t", key="person-1", headers={"h": "v"}),
        event(2, topic="t", key=b"\x01"),
        event(3, key="ignored without a topic"),
    ]
    encoded = encode_appends([AppendRequest("s", events)])
    assert encoded.topics == ["t", "t", None]
    assert encoded.keys == [b"person-1", b"\x01", None]
    assert encoded.headers == ['{"h":"v"}', None, None]


@pytest.mark.parametrize(("expected", "encoded"), [(ANY, -1), (NO_STREAM, 0), (0, 0), (7, 7)])
def test_expected_versions_are_encoded_for_the_function(expected: int, encoded: int) -> None:
    assert encode_expected_version(expected) == encoded


@pytest.mark.parametrize("expected", [-1, True])
def test_a_nonsense_expected_version_is_refused(expected: int) -> None:
    with pytest.raises(ValueError, match="expected version"):
        encode_expected_version(expected)


def test_an_empty_append_or_a_repeated_event_id_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing to append"):
        encode_appends([])
    with pytest.raises(ValueError, match="at least one event"):
        encode_appends([AppendRequest("s", [])])
    e = event(1)
    with pytest.raises(ValueError, match="repeats an event id"):
        encode_appends([AppendRequest("s", [e, e])])


@pytest.mark.parametrize("text", ["a\x00b", "\\\x00"], ids=["NUL", "backslash then NUL"])
@pytest.mark.parametrize("given_as", ["mapping", "bytes"])
def test_a_payload_holding_nul_is_refused(text: str, given_as: str) -> None:
    # The store compares a retry's payload as jsonb, which cannot hold U+0000 (see appending.py).
    payload = {"note": text}
    data = payload if given_as == "mapping" else orjson.dumps(payload)
    nul = NewEvent(uuid.uuid4(), "Probe", data)

    with pytest.raises(ValueError, match=f"event {nul.event_id}: its payload holds U\\+0000"):
        encode_appends([AppendRequest("s-1", [event(1)]), AppendRequest("s-2", [nul])])


def test_an_escaped_backslash_before_u0000_is_text_not_nul() -> None:
    literal = NewEvent(uuid.uuid4(), "Probe", {"note": "C:\\u0000\\dir"})

    assert encode_appends([AppendRequest("s-1", [literal])]).payloads == [literal.payload_json()]


def test_each_append_gets_its_own_outcome_from_the_groups_rows() -> None:
    conflicting = uuid.uuid4()
    requests = [
        AppendRequest("a", [event(1)], 0),
        AppendRequest("a", [event(2)], 0),
        AppendRequest("b", [event(3), event(4)], NO_STREAM),
        AppendRequest("c", [event(5)]),
    ]
    rows = [
        ("appended", 1, 1, 0, None),
        ("conflict", None, None, 1, None),
        ("duplicate", 4, 5, 9, None),
        ("event_id_conflict", None, None, 3, [conflicting]),
    ]
    appended, conflict, duplicate, clash = decode_outcomes(requests, rows)
    assert appended == AppendResult("a", 1, 1)
    assert isinstance(conflict, ConcurrencyError)
    assert (conflict.stream_id, conflict.expected, conflict.actual) == ("a", 0, 1)
    assert duplicate == AppendResult("b", 4, 5)
    assert isinstance(clash, EventIdConflict)
    assert clash.event_ids == (conflicting,)


def test_rows_that_do_not_match_the_appends_are_an_error() -> None:
    with pytest.raises(RuntimeError, match="2 rows for 1 appends"):
        decode_outcomes([AppendRequest("a", [event(1)])], [("appended", 1, 1, 0, None)] * 2)
    with pytest.raises(RuntimeError, match="unknown outcome"):
        decode_outcomes([AppendRequest("a", [event(1)])], [("maybe", 1, 1, 0, None)])


def test_a_concurrency_error_names_the_stream_and_both_versions() -> None:
    error = ConcurrencyError("person-1", NO_STREAM, 3)
    assert str(error) == "stream 'person-1' is at version 3, expected no stream"


def test_appends_repeating_ids_go_in_later_statements_and_a_streams_appends_keep_their_order() -> None:
    """A retry beside its original needs a later statement (to see the original's ids); an append to a
    stream named by such a retry goes after it too, or it would run before the call says it does."""
    from amnesty_eventstore.appending import _rounds

    shared = [NewEvent(event_id=uuid.uuid4(), type="T", data={})]
    other = [NewEvent(event_id=uuid.uuid4(), type="T", data={})]
    fresh = [NewEvent(event_id=uuid.uuid4(), type="T", data={})]
    requests = [
        AppendRequest("s", shared, 5),
        AppendRequest("s", shared),  # its retry
        AppendRequest("s", other),  # after the retry, as called
        AppendRequest("t", fresh),  # nothing in common: the first statement
    ]
    assert _rounds(requests) == [[0, 3], [1], [2]]
    assert _rounds([requests[0], requests[3]]) == [[0, 1]]
