"""What each forwarder of the raw topology publishes for a batch."""

from __future__ import annotations

from dataclasses import dataclass

from tests.bench.raw_forwarder import onward
from tests.support.kafka import OutgoingRecord


@dataclass(frozen=True)
class _Record:
    key: bytes | None
    value: bytes | None


CASE = _Record(b"erdr:1", b'{"type": "CaseOpened", "person_id": "3012345678"}')
RETURN = _Record(b"army-plus:1", b'{"type": "VoluntaryReturn", "person_id": "3012345678"}')


def test_intake_forwards_every_record_with_its_key_and_bytes() -> None:
    assert onward("intake", [CASE, RETURN], "cases") == [
        OutgoingRecord("cases", CASE.key, CASE.value or b""),
        OutgoingRecord("cases", RETURN.key, RETURN.value or b""),
    ]


def test_eligibility_publishes_one_decision_per_return_only() -> None:
    assert onward("eligibility", [CASE, RETURN, CASE], "decisions") == [
        OutgoingRecord("decisions", RETURN.key, RETURN.value or b"")
    ]


def test_statistics_reads_and_publishes_nothing() -> None:
    assert onward("statistics", [CASE, RETURN], None) == []


def test_a_tombstone_is_not_forwarded() -> None:
    assert onward("intake", [_Record(b"k", None)], "cases") == []
