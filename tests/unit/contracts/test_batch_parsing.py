"""A batch of domain events reads exactly as each message parsed on its own, by the strict path."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from amnesty_contracts import (
    Rejection,
    parse_case_event,
    parse_case_events,
    parse_decision_event,
    parse_decision_events,
)
from tests.support.domain_events import EventFactory

_f = EventFactory()
_RETURN = _f.voluntary_return("p1", "2025-01-03")
CASE_EVENTS = [
    _f.case_opened("p1", "c1", "2024-12-01").model_dump_json().encode(),
    _RETURN.model_dump_json().encode(),
    _f.detained("p2", "2025-02-01").model_dump_json().encode(),
]
DECISIONS = [_f.granted(_RETURN).model_dump_json().encode(), _f.pending(_RETURN).model_dump_json().encode()]

BAD = [
    b"not json",
    b"\xff\xfe{}",
    b"[1, 2]",
    b'{"type": "NoSuchEvent"}',
    b'{"type": "CaseOpened"}',
    # Two halves that would join into one object in an array: each must be judged alone.
    b'{"a": [1',
    b'2], "b": {}}',
    b'{"x": NaN}',
    b"{}",
    # Whole events but for a constant the contract refuses, in a field the models ignore.
    CASE_EVENTS[0][:-1] + b', "x": NaN}',
    CASE_EVENTS[1][:-1] + b', "x": -Infinity}',
    # Beyond the size limit, though well formed.
    CASE_EVENTS[0][:-1] + b', "x": "' + b"y" * 70_000 + b'"}',
]


def _same(batch: list[bytes], parsed: Sequence[object], one: Callable[[bytes], object]) -> None:
    expected = [one(raw) for raw in batch]
    assert len(parsed) == len(expected)
    for got, want in zip(parsed, expected, strict=True):
        if isinstance(want, Rejection):
            assert isinstance(got, Rejection)
            assert (got.reason, got.detail) == (want.reason, want.detail)
        else:
            assert got == want


def test_a_clean_batch_reads_as_its_messages_one_by_one() -> None:
    _same(CASE_EVENTS, parse_case_events(CASE_EVENTS), parse_case_event)
    _same(DECISIONS, parse_decision_events(DECISIONS), parse_decision_event)


def test_bad_messages_among_good_ones_get_their_own_rejection_and_spoil_nothing() -> None:
    batch = [BAD[0], CASE_EVENTS[0], *BAD[1:5], CASE_EVENTS[1], *BAD[5:], CASE_EVENTS[2]]
    parsed = parse_case_events(batch)
    _same(batch, parsed, parse_case_event)
    assert sum(not isinstance(p, Rejection) for p in parsed) == len(CASE_EVENTS)


def test_a_decision_on_the_cases_topic_is_no_case_event() -> None:
    parsed = parse_case_events([*DECISIONS, CASE_EVENTS[0]])
    assert [isinstance(p, Rejection) for p in parsed] == [True, True, False]


def test_an_empty_batch_is_empty() -> None:
    assert parse_case_events([]) == []


_pieces = st.sampled_from([*CASE_EVENTS, *DECISIONS, *BAD])
_mutated = st.builds(
    lambda raw, cut: raw[:cut], st.sampled_from(CASE_EVENTS), st.integers(min_value=0, max_value=400)
)
_objects = st.dictionaries(
    st.sampled_from(["type", "event_id", "person", "data", "x"]),
    st.one_of(st.none(), st.integers(), st.text(max_size=5), st.just("CaseOpened")),
).map(lambda d: json.dumps(d).encode())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_pieces, _mutated, _objects, st.binary(max_size=40)), max_size=12))
def test_any_batch_reads_as_its_messages_one_by_one(batch: list[bytes]) -> None:
    _same(batch, parse_case_events(batch), parse_case_event)
    _same(batch, parse_decision_events(batch), parse_decision_event)
