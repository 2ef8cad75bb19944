"""The batch pipeline: the next batch is prepared while one commits; batches commit in order; a failed
batch rewinds its partitions and the batch fetched meanwhile is dropped, so nothing is skipped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from aiokafka import TopicPartition

from amnesty_eventstore import DbConnection
from amnesty_eventstore.consumption import BatchHandler, BatchOutcome, CheckpointedConsumer, Delivery
from amnesty_eventstore.kafka_batches import BatchPipeline


def batch(partition: int, start: int, n: int = 3, topic: str = "t") -> list[Delivery]:
    return [Delivery(topic, partition, start + i, None, b"{}") for i in range(n)]


class FakeConsumer:
    """The consumer's side: applies a batch after a while, failing the batches it is told to."""

    group = "g"

    def __init__(
        self, fail: Iterable[int] = (), checkpoints: dict[tuple[str, int], int] | None = None
    ) -> None:
        self.fail = set(fail)
        self.applied: list[list[int]] = []
        self.events: list[str] = []
        self.checkpoints = checkpoints or {}
        self.unreadable = 0  # how many reads of the checkpoints fail yet (the database away)
        self._calls = 0

    async def apply(
        self, deliveries: Sequence[Delivery], handler: BatchHandler | None = None
    ) -> BatchOutcome:
        self._calls += 1
        first = deliveries[0].offset
        self.events.append(f"commit-start {first}")
        await asyncio.sleep(0.01)
        if self._calls in self.fail:
            self.events.append(f"commit-failed {first}")
            raise RuntimeError("the database went away")
        if handler is not None:
            await handler(None, deliveries)  # type: ignore[arg-type]
        self.applied.append([d.offset for d in deliveries])
        self.events.append(f"commit-end {first}")
        return BatchOutcome(len(deliveries), 0)

    async def stored_checkpoints(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        if self.unreadable:
            self.unreadable -= 1
            raise OSError("the database went away")
        return {tp: self.checkpoints[tp] for tp in partitions if tp in self.checkpoints}


class FakeKafka:
    """What the pipeline asks of aiokafka's consumer: its assignment, seek, seek_to_beginning."""

    def __init__(self, *partitions: tuple[str, int]) -> None:
        self._assigned = {TopicPartition(t, p) for t, p in partitions}
        self.seeks: list[tuple[int, int]] = []
        self.to_beginning: list[int] = []
        self.ends: dict[TopicPartition, int] = {}
        self.events: list[str] = []

    def pause(self, *tps: TopicPartition) -> None:
        self.events.append(f"pause {sorted(tp.partition for tp in tps)}")

    def resume(self, *tps: TopicPartition) -> None:
        self.events.append(f"resume {sorted(tp.partition for tp in tps)}")

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.ends.get(tp)

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(tps, 0)

    def assignment(self) -> set[TopicPartition]:
        return self._assigned

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp.partition, offset))
        self.events.append(f"seek {tp.partition} {offset}")

    async def seek_to_beginning(self, *tps: TopicPartition) -> None:
        self.to_beginning += sorted(tp.partition for tp in tps)


class FakeSubscriber:
    def __init__(self, kafka: FakeKafka) -> None:
        self.consumer = kafka

    async def stop(self) -> None:
        return None


def pipeline(consumer: FakeConsumer, kafka: FakeKafka, events: list[str] | None = None) -> BatchPipeline:
    def prepare(deliveries: Sequence[Delivery]) -> BatchHandler:
        consumer.events.append(f"prepare {deliveries[0].offset}")

        async def handle(_conn: DbConnection, _deliveries: Sequence[Delivery]) -> None:
            return None

        return handle

    p = BatchPipeline(consumer, prepare)  # type: ignore[arg-type]
    p.attach(FakeSubscriber(kafka))
    return p


async def test_the_next_batch_is_prepared_while_the_previous_one_commits() -> None:
    consumer, kafka = FakeConsumer(), FakeKafka(("t", 0))
    p = pipeline(consumer, kafka)
    await p.handle(batch(0, 0))
    await p.handle(batch(0, 3))
    await p.settle()
    at = consumer.events.index
    assert at("prepare 3") < at("commit-end 0"), "batch 3 is prepared before batch 0 has committed"
    assert at("commit-end 0") < at("commit-start 3"), "batches commit one after the other"
    assert consumer.applied == [[0, 1, 2], [3, 4, 5]]


async def test_a_failed_batch_rewinds_and_the_batch_fetched_meanwhile_is_dropped() -> None:
    consumer, kafka = FakeConsumer(fail=[1]), FakeKafka(("t", 0), ("t", 1))
    p = pipeline(consumer, kafka)
    await p.handle(batch(0, 0))
    # Fetched while batch 0 was committing: partition 0 further on, and partition 1 for the first time.
    await p.handle([*batch(0, 3), *batch(1, 10)])
    assert consumer.applied == []
    # The failed batch rewinds partition 0; the dropped one sends partition 0 back to that rewind (not to
    # its own start, which would skip the failed batch) and partition 1 to its own start.
    assert kafka.seeks == [(0, 0), (0, 0), (1, 10)]
    # What comes after the rewind is applied again, from the start.
    await p.handle(batch(0, 0))
    await p.settle()
    assert consumer.applied == [[0, 1, 2]]


async def test_the_failed_batch_fetched_again_before_its_failure_was_seen_comes_again() -> None:
    """The fetch after a failing batch may return that batch again (it rewound meanwhile): dropping it
    must rewind once more, or it would be consumed and never applied."""
    consumer, kafka = FakeConsumer(fail=[1]), FakeKafka(("t", 0))
    p = pipeline(consumer, kafka)
    await p.handle(batch(0, 0))
    await asyncio.sleep(0.05)  # the failure and its rewind happen before the next fetch returns
    await p.handle(batch(0, 0))  # what that fetch returned: the failed batch again
    assert kafka.seeks == [(0, 0), (0, 0)]
    await p.handle(batch(0, 0))
    await p.settle()
    assert consumer.applied == [[0, 1, 2]]


async def test_a_batch_whose_preparation_fails_is_rewound_like_a_failed_commit() -> None:
    """Raised to FastStream, the error would leave the consumer past the batch: the next batch's
    checkpoint would skip it."""
    consumer, kafka = FakeConsumer(), FakeKafka(("t", 0))
    fails = [True]

    def prepare(deliveries: Sequence[Delivery]) -> BatchHandler:
        if fails.pop(0) if fails else False:
            raise ValueError("a bug in the service's preparation")

        async def handle(_conn: DbConnection, _deliveries: Sequence[Delivery]) -> None:
            return None

        return handle

    p = BatchPipeline(consumer, prepare)  # type: ignore[arg-type]
    p.attach(FakeSubscriber(kafka))
    await p.handle(batch(0, 0))
    await p.settle()
    assert consumer.applied == []
    assert kafka.seeks == [(0, 0)], "rewound to its first offset"
    await p.handle(batch(0, 0))  # comes again
    await p.settle()
    assert consumer.applied == [[0, 1, 2]]


async def test_a_failure_of_the_last_batch_still_rewinds_it() -> None:
    consumer, kafka = FakeConsumer(fail=[1]), FakeKafka(("t", 0))
    p = pipeline(consumer, kafka)
    await p.handle(batch(0, 5))
    assert await p.settle() is False
    assert kafka.seeks == [(0, 5)]


async def test_partitions_are_handed_over_only_once_the_batch_in_flight_committed() -> None:
    consumer, kafka = FakeConsumer(), FakeKafka(("t", 0))
    p = pipeline(consumer, kafka)
    await p.handle(batch(0, 0))
    await p.on_partitions_revoked({TopicPartition("t", 0)})
    assert consumer.applied == [[0, 1, 2]]


async def test_a_stop_that_cancels_the_wait_for_the_batch_in_flight_lets_it_commit() -> None:
    """FastStream stops a subscriber by cancelling its consume loop, which may be waiting for the
    previous batch: the batch still commits, and ``stop`` waits for it."""
    consumer, kafka = FakeConsumer(), FakeKafka(("t", 0))
    p = pipeline(consumer, kafka)
    await p.handle(batch(0, 0))
    loop = asyncio.create_task(p.handle(batch(0, 3)))
    await asyncio.sleep(0)  # the loop waits for batch 0
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop
    assert await p.settle() is True
    assert consumer.applied == [[0, 1, 2]]
    assert consumer.events == ["prepare 0", "commit-start 0", "prepare 3", "commit-end 0"]


async def test_a_revocation_waits_for_the_batch_the_loop_started_meanwhile_too() -> None:
    """Both wait for batch 0; the loop, resumed first, starts the batch it had fetched (for the revoked
    partition): the revocation waits for that one as well before it hands the partition over."""
    consumer, kafka = FakeConsumer(), FakeKafka(("t", 0))
    p = pipeline(consumer, kafka)
    await p.handle(batch(0, 0))
    loop = asyncio.create_task(p.handle(batch(0, 3)))
    await asyncio.sleep(0)  # the loop waits for batch 0
    await p.on_partitions_revoked({TopicPartition("t", 0)})
    assert consumer.applied == [[0, 1, 2], [3, 4, 5]]
    await loop


@pytest.mark.timeout(60)
async def test_a_stop_ends_the_pause_after_a_failed_batch() -> None:
    consumer, kafka = FakeConsumer(fail=[1]), FakeKafka(("t", 0))
    p = pipeline(consumer, kafka)
    p._backoff._delay = 30.0  # failed often already: the next pause is the longest, 30 s
    await p.handle(batch(0, 0))
    await asyncio.sleep(0.05)  # the batch has failed and pauses
    await asyncio.wait_for(p.stop(), 5)  # not 30 s: the pause ended with the stop
    assert consumer.events == ["prepare 0", "commit-start 0", "commit-failed 0"]


async def test_assigned_partitions_resume_at_their_checkpoint_or_their_beginning() -> None:
    consumer, kafka = FakeConsumer(checkpoints={("t", 0): 42}), FakeKafka(("t", 0), ("t", 1))
    p = pipeline(consumer, kafka)
    await p.on_partitions_assigned({TopicPartition("t", 0), TopicPartition("t", 1)})
    # Kafka's committed offsets are ahead of the checkpoints while a batch commits: never trusted.
    assert kafka.seeks == [(0, 42)]
    assert kafka.to_beginning == [1]


async def test_nothing_is_fetched_until_the_assigned_partitions_are_at_their_checkpoints() -> None:
    consumer, kafka = FakeConsumer(checkpoints={("t", 0): 42}), FakeKafka(("t", 0), ("t", 1))
    p = pipeline(consumer, kafka)
    await p.on_partitions_assigned(kafka.assignment())
    assert kafka.events == ["pause [0, 1]", "seek 0 42", "resume [0, 1]"]


async def test_a_first_batch_from_beyond_the_checkpoint_is_dropped_and_read_again_from_it() -> None:
    """Kafka's committed offsets run ahead of the checkpoints (committed before a batch is applied):
    a batch fetched from there before the assignment's seek took effect would skip what lies between."""
    consumer, kafka = FakeConsumer(checkpoints={("t", 0): 99}), FakeKafka(("t", 0), ("t", 1))
    p = pipeline(consumer, kafka)
    await p.on_partitions_assigned(kafka.assignment())
    kafka.seeks.clear()
    await p.handle([*batch(0, 199), *batch(1, 7)])
    await p.settle()
    assert consumer.applied == []
    # Partition 1 has no checkpoint: its first batch too must start at its beginning (offset 0 here).
    assert sorted(kafka.seeks) == [(0, 99), (1, 0)]
    await p.handle(batch(0, 99))  # read again from the checkpoint
    await p.handle(batch(0, 150))  # later batches follow what was applied: no check
    await p.settle()
    assert consumer.applied == [[99, 100, 101], [150, 151, 152]]


async def test_partitions_whose_checkpoints_cannot_be_read_stay_paused_until_they_can() -> None:
    """Resumed without their checkpoints, they would be fetched from Kafka's committed offsets, ahead of
    the checkpoints, and the first batch from there would skip what lies between."""
    consumer, kafka = FakeConsumer(checkpoints={("t", 0): 42}), FakeKafka(("t", 0), ("t", 1))
    consumer.unreadable = 2
    p = pipeline(consumer, kafka)

    await p.on_partitions_assigned(kafka.assignment())
    assert kafka.events == ["pause [0, 1]"]

    await asyncio.sleep(0.6)  # the first try again, 0.5 s on, fails too
    assert consumer.unreadable == 0, "it was tried"
    assert kafka.events == ["pause [0, 1]"]
    await asyncio.sleep(1.1)  # the next, 1 s after that, reads them
    assert kafka.events == ["pause [0, 1]", "seek 0 42", "resume [0, 1]"]
    assert kafka.to_beginning == [1]


async def test_a_revocation_ends_the_tries_to_read_the_checkpoints() -> None:
    consumer, kafka = FakeConsumer(checkpoints={("t", 0): 42}), FakeKafka(("t", 0))
    consumer.unreadable = 1
    p = pipeline(consumer, kafka)
    await p.on_partitions_assigned(kafka.assignment())

    await p.on_partitions_revoked(kafka.assignment())
    await asyncio.sleep(0.6)
    assert kafka.events == ["pause [0]"], "nothing resumed for a member that no longer holds them"


async def test_a_stopped_pipeline_has_ended_its_tries_to_read_the_checkpoints() -> None:
    """Stopped as the service stops it (the broker stops the subscribers), the task is over before the
    pool closes: cancelled but not awaited, it could still be reading from a closing pool."""
    consumer, kafka = FakeConsumer(checkpoints={("t", 0): 42}), FakeKafka(("t", 0))
    consumer.unreadable = 1
    p = pipeline(consumer, kafka)
    await p.on_partitions_assigned(kafka.assignment())
    (task,) = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    p.stopping()
    await p.stopped()
    assert task.done()
    await asyncio.sleep(0.6)
    assert kafka.events == ["pause [0]"]


async def test_the_lag_is_what_the_broker_holds_beyond_what_was_applied() -> None:
    consumer, kafka = FakeConsumer(checkpoints={("t", 0): 2}), FakeKafka(("t", 0), ("t", 1), ("u", 0))
    p = pipeline(consumer, kafka)
    await p.on_partitions_assigned(kafka.assignment())
    kafka.ends = {TopicPartition("t", 0): 10, TopicPartition("t", 1): 4}  # "u" not fetched yet
    assert p.lag() == {"t": (10 - 2) + (4 - 0)}
    await p.handle(batch(0, 2))  # offsets 2, 3, 4 of partition 0
    await p.settle()
    assert p.lag() == {"t": (10 - 5) + (4 - 0)}
    await p.on_partitions_revoked({TopicPartition("t", 1)})
    assert p.lag() == {"t": 10 - 5}


async def test_a_revocation_makes_the_service_forget_what_it_keeps_in_memory() -> None:
    consumer, kafka = FakeConsumer(), FakeKafka(("t", 0))
    forgotten: list[str] = []
    p = BatchPipeline(consumer, None, lambda: forgotten.append("forgot"))  # type: ignore[arg-type]
    p.attach(FakeSubscriber(kafka))
    await p.handle(batch(0, 0))
    await p.on_partitions_revoked(set())
    assert forgotten == [], "nothing was revoked"
    await p.on_partitions_revoked({TopicPartition("t", 0)})
    assert consumer.applied == [[0, 1, 2]], "the batch in flight committed first"
    assert forgotten == ["forgot"]


async def test_a_failed_batch_makes_the_service_forget_what_it_keeps_in_memory() -> None:
    """A commit whose answer was lost may have gone through: what the service remembers may be behind."""
    consumer, kafka = FakeConsumer(fail=[1]), FakeKafka(("t", 0))
    forgotten: list[str] = []
    p = BatchPipeline(consumer, None, lambda: forgotten.append("forgot"))  # type: ignore[arg-type]
    p.attach(FakeSubscriber(kafka))
    await p.handle(batch(0, 0))
    await p.settle()
    assert forgotten == ["forgot"]


async def test_an_assignment_makes_the_service_forget_even_with_nothing_revoked() -> None:
    consumer, kafka = FakeConsumer(), FakeKafka(("t", 0))
    forgotten: list[str] = []
    p = BatchPipeline(consumer, None, lambda: forgotten.append("forgot"))  # type: ignore[arg-type]
    p.attach(FakeSubscriber(kafka))
    await p.on_partitions_revoked(set())
    await p.on_partitions_assigned(kafka.assignment())
    assert forgotten == ["forgot"]


async def test_a_batch_started_after_its_partitions_were_revoked_is_dropped() -> None:
    """Fetched before the rebalance, waiting behind the batch in flight: another member applies those
    partitions now; the partitions still here are read again from the batch's start."""
    consumer, kafka = FakeConsumer(), FakeKafka(("t", 0))
    p = pipeline(consumer, kafka)
    await p.handle([*batch(0, 0), *batch(1, 0)])  # partition 1 no longer this member's
    await p.settle()
    assert consumer.applied == []
    assert kafka.seeks == [(0, 0)]


def test_the_fakes_have_the_shape_of_the_real_consumer() -> None:
    real: Any = CheckpointedConsumer
    for name in ("apply", "stored_checkpoints", "group"):
        assert hasattr(real, name)


async def test_a_batch_reaches_its_pipeline_without_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """FastStream's dependency injection resolves a context field (the message) in a thread pool: a
    thread's round trip per batch, on the latency path, waiting for the GIL behind the event loop. The
    records come as the handler's argument instead."""
    import fast_depends.utils
    from faststream.kafka import KafkaBroker, TestKafkaBroker

    from amnesty_eventstore.kafka_batches import subscribe_checkpointed

    async def no_thread(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("a batch went through a worker thread")

    monkeypatch.setattr(fast_depends.utils, "run_in_threadpool", no_thread)
    consumer = FakeConsumer()
    broker = KafkaBroker("localhost:9092")
    pipeline = subscribe_checkpointed(broker, consumer, "t", max_records=10)  # type: ignore[arg-type]
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish_batch(b"{}", b"{}", topic="t")
        await pipeline.settle()
    assert [len(applied) for applied in consumer.applied] == [2]
