"""The relay's record batches: each key on Kafka's default partition, in order, batches queued as they fill;
a record too large or a topic without partitions fails the pass before anything is queued."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError, UnknownTopicOrPartitionError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

from amnesty_eventstore.record_batches import publish_in_batches
from tests.support.kafka import OutgoingRecord


@dataclass
class RecordingProducer:
    """Batches of at most ``batch_size`` bytes, as aiokafka builds them; what was queued, in order."""

    partitions: dict[str, set[int]]
    batch_size: int = 1024
    queued: list[tuple[str, int, list[bytes]]] = field(default_factory=list)
    fail_on_send: int | None = None

    async def partitions_for(self, topic: str) -> set[int]:
        return self.partitions.get(topic, set())

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_size, 0)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> asyncio.Future[Any]:
        if self.fail_on_send is not None and len(self.queued) == self.fail_on_send:
            raise UnknownTopicOrPartitionError("the broker refused")
        assert batch.closed(), "a queued batch must be closed, or the producer's send() could add to it"
        # The bytes the producer would send (its own private step), read back as the broker would.
        values = [record.value for record in DefaultRecordBatch(bytes(batch._build()))]
        self.queued.append((topic, partition, values))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _on(partitions: int, key: bytes) -> int:
    every = list(range(partitions))
    return int(DefaultPartitioner()(key, every, every))


async def test_each_key_keeps_its_partition_and_order_across_batches_that_fill() -> None:
    keys = [f"p_{k:043d}".encode() for k in range(5)]
    records = [
        OutgoingRecord("cases", key, f"{key.decode()}:{n}".encode() * 8) for n in range(40) for key in keys
    ]
    producer = RecordingProducer({"cases": {0, 1, 2}}, batch_size=2048)
    await publish_in_batches(producer, records)

    assert sum(len(values) for _, _, values in producer.queued) == len(records)
    per_partition: dict[int, int] = {}
    for _, partition, _ in producer.queued:
        per_partition[partition] = per_partition.get(partition, 0) + 1
    assert max(per_partition.values()) > 1, "the test must fill batches"
    for key in keys:
        seen = [
            (partition, value)
            for _, partition, values in producer.queued
            for value in values
            if value.startswith(key + b":")
        ]
        assert {partition for partition, _ in seen} == {_on(3, key)}
        assert [value for _, value in seen] == [f"{key.decode()}:{n}".encode() * 8 for n in range(40)]


async def test_topics_are_batched_apart_and_unkeyed_records_share_one_partition() -> None:
    records = [
        OutgoingRecord("cases", b"k", b"c1"),
        OutgoingRecord("rejected", None, b"r1"),
        OutgoingRecord("rejected", None, b"r2"),
    ]
    producer = RecordingProducer({"cases": {0, 1}, "rejected": {0, 1, 2}})
    await publish_in_batches(producer, records)
    rejected = [(p, v) for topic, p, v in producer.queued if topic == "rejected"]
    assert len(rejected) == 1
    assert rejected[0][0] in {0, 1, 2}  # one of the topic's partitions, whichever
    assert rejected[0][1] == [b"r1", b"r2"]
    assert [(t, p, v) for t, p, v in producer.queued if t == "cases"] == [("cases", _on(2, b"k"), [b"c1"])]


async def test_a_record_larger_than_a_request_fails_the_pass_before_anything_is_queued() -> None:
    producer = RecordingProducer({"cases": {0}})
    records = [OutgoingRecord("cases", b"a", b"small"), OutgoingRecord("cases", b"b", b"x" * 5000)]
    with pytest.raises(MessageSizeTooLargeError):
        await publish_in_batches(producer, records, max_request_bytes=4096)
    assert producer.queued == []


async def test_a_record_larger_than_a_batch_goes_alone() -> None:
    producer = RecordingProducer({"cases": {0}}, batch_size=512)
    await publish_in_batches(
        producer, [OutgoingRecord("cases", b"a", b"x" * 2000), OutgoingRecord("cases", b"a", b"y")]
    )
    assert [values for _, _, values in producer.queued] == [[b"x" * 2000], [b"y"]]


async def test_a_topic_without_partitions_fails_the_pass() -> None:
    with pytest.raises(UnknownTopicOrPartitionError):
        await publish_in_batches(RecordingProducer({}), [OutgoingRecord("cases", b"a", b"v")])


async def test_a_refused_batch_fails_the_pass() -> None:
    producer = RecordingProducer({"cases": {0}}, batch_size=256, fail_on_send=1)
    with pytest.raises(UnknownTopicOrPartitionError):
        await publish_in_batches(
            producer, [OutgoingRecord("cases", b"a", bytes([n]) * 200) for n in range(4)]
        )
    assert len(producer.queued) == 1
