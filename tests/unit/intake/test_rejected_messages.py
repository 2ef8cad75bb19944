"""The operator's use cases on rejected messages over in-memory ports: list, find, re-drive once."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

from amnesty_contracts import RejectedMessage, RejectionReason
from amnesty_intake.domain.redrives import Filter, Refusal, Rejected, RejectedId
from amnesty_intake.service_layer.rejected_messages import find_rejected, list_rejected, redrive
from tests.unit.intake.rejected_examples import FakeRedriveLog, FakeRejectedTopic, cut, rejected

INVALID_FIELD = Filter(reason=RejectionReason.INVALID_FIELD)


async def test_the_list_holds_the_newest_matching_oldest_first_and_counts_them_all() -> None:
    topic = FakeRejectedTopic(
        [
            rejected(1, 0, b"a", minutes=30),
            rejected(0, 0, b"b", minutes=10),
            rejected(0, 1, b"c", minutes=40, reason=RejectionReason.INVALID_JSON),
            rejected(2, 0, b"d", minutes=20),
        ]
    )
    listing = await list_rejected(topic, FakeRedriveLog(), INVALID_FIELD, limit=2)
    assert [str(r.id) for r in listing.shown] == ["2:0", "1:0"]
    assert listing.matching == 3


async def test_the_list_knows_which_bytes_were_re_driven() -> None:
    first, again = rejected(0, 0, b"bad"), rejected(1, 0, b"bad", minutes=5)
    log = FakeRedriveLog()
    await redrive(FakeRejectedTopic([first]), log, ids=[first.id])
    listing = await list_rejected(FakeRejectedTopic([first, again]), log, Filter(), limit=10)
    assert set(listing.redrives) == {first.id}
    assert listing.redriven_bytes == {first.message.original_sha256: first.id}


async def test_find_answers_in_the_order_asked_and_names_what_is_missing() -> None:
    topic = FakeRejectedTopic([rejected(0, 0, b"a"), rejected(0, 1, b"b")])
    found = await find_rejected(
        topic, FakeRedriveLog(), [RejectedId(0, 1), RejectedId(5, 5), RejectedId(0, 0)]
    )
    assert [str(r.id) for r in found.found] == ["0:1", "0:0"]
    assert found.missing == [RejectedId(5, 5)]


async def test_a_second_redrive_sends_nothing() -> None:
    topic = FakeRejectedTopic([rejected(0, 0, b"a"), rejected(1, 0, b"b", minutes=1)])
    log = FakeRedriveLog()
    first = await redrive(topic, log, selection=INVALID_FIELD)
    assert first.queued == [RejectedId(0, 0), RejectedId(1, 0)]
    second = await redrive(topic, log, selection=INVALID_FIELD)
    assert second.queued == []
    assert {refusal for _, refusal in second.plan.refused} == {Refusal.ALREADY_REDRIVEN}
    assert log.sent == [b"a", b"b"]


async def test_a_dry_run_records_and_sends_nothing() -> None:
    topic = FakeRejectedTopic([rejected(0, 0, b"a")])
    log = FakeRedriveLog()
    report = await redrive(topic, log, selection=INVALID_FIELD, dry_run=True)
    assert [r.id for r in report.plan.send] == [RejectedId(0, 0)]
    assert (report.queued, report.raced, log.sent, log.log) == ([], [], [], {})


async def test_the_new_rejection_of_a_re_driven_message_is_not_picked_up_by_the_same_filter() -> None:
    first = rejected(0, 0, b"still bad")
    log = FakeRedriveLog()
    await redrive(FakeRejectedTopic([first]), log, selection=INVALID_FIELD)
    again = rejected(2, 9, b"still bad", minutes=1)
    report = await redrive(FakeRejectedTopic([first, again]), log, selection=INVALID_FIELD)
    assert report.queued == []
    assert (again.id, Refusal.SAME_BYTES_REDRIVEN) in [(c.id, refusal) for c, refusal in report.plan.refused]
    assert log.sent == [b"still bad"]


async def test_by_id_the_ids_asked_for_are_sent_in_that_order_and_the_missing_named() -> None:
    topic = FakeRejectedTopic([rejected(0, 0, b"a"), rejected(0, 1, b"b"), cut(1, 0)])
    log = FakeRedriveLog()
    report = await redrive(
        topic, log, ids=[RejectedId(0, 1), RejectedId(7, 7), RejectedId(1, 0), RejectedId(0, 0)]
    )
    assert report.queued == [RejectedId(0, 1), RejectedId(0, 0)]
    assert report.missing == [RejectedId(7, 7)]
    assert [(str(r.id), refusal) for r, refusal in report.plan.refused] == [("1:0", Refusal.CUT)]


async def test_what_another_run_recorded_meanwhile_is_reported_not_sent() -> None:
    topic = FakeRejectedTopic([rejected(0, 0, b"a")])

    class RacedLog(FakeRedriveLog):
        async def record(self, rejected: object) -> list[RejectedId]:
            return []

    report = await redrive(topic, RacedLog(), selection=INVALID_FIELD)
    assert report.raced == [RejectedId(0, 0)]


async def test_a_redrive_by_filter_keeps_the_originals_of_only_what_it_sends() -> None:
    """Every match was kept whole (an original up to 87 KiB each) until the limit was applied: over a
    topic of many large rejections the command ran out of memory and sent nothing."""
    topic = _Reread([rejected(0, n, b"x" * 60_000 + str(n).encode(), minutes=n) for n in range(200)])
    log = FakeRedriveLog()
    tracemalloc.start()
    try:
        report = await redrive(topic, log, selection=INVALID_FIELD, limit=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.queued == [RejectedId(0, 0), RejectedId(0, 1)]
    assert report.plan.left == 198
    assert peak < 5_000_000  # 200 originals of 60 KB would be 12 MB, 16 MB with their base64


class _Reread(FakeRejectedTopic):
    """A topic whose messages are decoded as they are read, as the real one's are: nothing is held
    between reads."""

    def __init__(self, messages: list[Rejected]) -> None:
        self._documents = [(m.id, m.key, m.message.model_dump_json()) for m in messages]

    async def read(self) -> AsyncIterator[Rejected]:
        for rejected_id, key, document in self._documents:
            yield Rejected(rejected_id, key, RejectedMessage.model_validate_json(document))
