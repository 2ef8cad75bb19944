"""Which rejected messages may be re-driven, how an operator names them, and how an original is shown."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from amnesty_contracts import MAX_MESSAGE_BYTES, RejectionReason
from amnesty_intake.domain.redrives import Filter, Refusal, RejectedId, plan_redrive, readable_original
from tests.unit.intake.rejected_examples import T0, cut, rejected


@pytest.mark.parametrize(("text", "expected"), [("2:17", RejectedId(2, 17)), (" 0:0 ", RejectedId(0, 0))])
def test_an_id_is_the_partition_and_offset_on_the_rejected_topic(text: str, expected: RejectedId) -> None:
    assert RejectedId.parse(text) == expected
    assert str(expected) == text.strip()


@pytest.mark.parametrize("text", ["17", "2:", ":17", "a:1", "1:-1", "2:17:3", "1:2 3", "9999999999:1"])
def test_anything_else_is_not_an_id(text: str) -> None:
    with pytest.raises(ValueError, match="write PARTITION:OFFSET"):
        RejectedId.parse(text)


def test_a_filter_matches_reason_service_and_a_half_open_time_range() -> None:
    at_10 = rejected(0, 1, minutes=10)
    assert Filter().matches(at_10)
    assert Filter(reason=RejectionReason.INVALID_FIELD, service="intake").matches(at_10)
    assert not Filter(reason=RejectionReason.INVALID_JSON).matches(at_10)
    assert not Filter(service="eligibility").matches(at_10)
    assert Filter(since=T0 + timedelta(minutes=10)).matches(at_10)
    assert not Filter(until=T0 + timedelta(minutes=10)).matches(at_10)
    assert Filter(until=T0 + timedelta(minutes=11)).matches(at_10)


def test_a_message_cut_at_64_kib_is_recognised_by_its_digest() -> None:
    assert cut(0, 1).cut
    assert not rejected(0, 2).cut


def test_a_message_whose_key_was_cut_is_cut_and_never_re_driven() -> None:
    """Its dead letter keeps the first 64 KiB of the key: sent back under it, the message would be
    another record, on another partition, out of its key's order."""
    long_key = dataclasses.replace(rejected(0, 3), key=b"k" * MAX_MESSAGE_BYTES)
    assert long_key.cut
    assert plan_redrive([long_key], [], by_id=True).refused == [(long_key, Refusal.CUT)]


def test_by_filter_every_fresh_message_is_sent_in_the_order_given() -> None:
    chosen = [rejected(0, 1, b"a"), rejected(1, 1, b"b")]
    plan = plan_redrive(chosen, [], by_id=False)
    assert [r.id for r in plan.send] == [RejectedId(0, 1), RejectedId(1, 1)]
    assert plan.refused == []


def test_a_message_re_driven_before_is_never_sent_again() -> None:
    done = rejected(0, 1, b"a")
    for by_id in (True, False):
        plan = plan_redrive([done], [done], by_id=by_id)
        assert plan.send == []
        assert plan.refused == [(done, Refusal.ALREADY_REDRIVEN)]


def test_by_filter_the_new_rejection_of_re_driven_bytes_is_not_sent_back() -> None:
    first, again = rejected(0, 1, b"still bad"), rejected(2, 5, b"still bad", minutes=5)
    plan = plan_redrive([first, again], [first], by_id=False)
    assert plan.refused == [(first, Refusal.ALREADY_REDRIVEN), (again, Refusal.SAME_BYTES_REDRIVEN)]


def test_by_id_the_new_rejection_may_be_re_driven_after_another_fix() -> None:
    first, again = rejected(0, 1, b"still bad"), rejected(2, 5, b"still bad", minutes=5)
    assert plan_redrive([again], [first], by_id=True).send == [again]


def test_one_run_sends_the_same_bytes_once() -> None:
    one, copy = rejected(0, 1, b"same"), rejected(1, 3, b"same")
    for by_id in (True, False):
        plan = plan_redrive([one, copy], [], by_id=by_id)
        assert plan.send == [one]
        assert plan.refused == [(copy, Refusal.SAME_BYTES_REDRIVEN)]


def test_a_cut_message_and_another_services_rejection_are_refused() -> None:
    too_large = cut(0, 1)
    eligibility = rejected(0, 2, service="eligibility")
    plan = plan_redrive([too_large, eligibility], [], by_id=True)
    assert plan.send == []
    assert plan.refused == [(too_large, Refusal.CUT), (eligibility, Refusal.NOT_INTAKE)]


def test_the_limit_bounds_what_is_sent_and_counts_what_is_left() -> None:
    chosen = [rejected(0, n, f"m{n}".encode()) for n in range(5)]
    plan = plan_redrive(chosen, [chosen[0]], by_id=False, limit=2)
    assert [r.id.offset for r in plan.send] == [1, 2]
    assert plan.left == 2


def test_a_json_original_is_shown_indented() -> None:
    assert readable_original(b'{"a": [1, "\xc3\xa9"]}') == '{\n  "a": [\n    1,\n    "\xe9"\n  ]\n}'


def test_text_that_is_no_json_is_shown_with_control_characters_escaped() -> None:
    assert readable_original(b'{"a": \x1b[31m\n\t"\xe2\x80\xae') == '{"a": \\x1b[31m\n\t"\\u202e'


def test_bytes_that_are_no_utf8_are_shown_as_a_bytes_literal() -> None:
    assert readable_original(b'{"s": "\xff\xfe"}') == 'b\'{"s": "\\xff\\xfe"}\''
