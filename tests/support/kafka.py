"""Reading and creating topics in tests: everything on a topic up to its end, fresh topics by name.

The fixtures connect as the stack's admin (``endpoints.kafka_admin``): fresh ``test.*`` topics are
nobody else's; what each principal may do is tests/security's subject."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker

from amnesty_runtime.kafka_client import KafkaClientOptions


@dataclass(frozen=True)
class OutgoingRecord:
    """A record bound for Kafka, in the shape ``publish_in_batches`` takes (``Publishable``)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


async def create_topics(kafka: KafkaClientOptions, names: list[str], partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(**kafka.aiokafka())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


async def delete_topics(kafka: KafkaClientOptions, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(**kafka.aiokafka())
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


def _consumer(kafka: KafkaClientOptions) -> AIOKafkaConsumer:
    # A group id, though nothing is committed: aiokafka 0.14's group-less consumer re-raises its own
    # cancellation from stop().
    return AIOKafkaConsumer(
        **kafka.aiokafka(),
        group_id=f"reader-{uuid.uuid4()}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


async def _partitions(kafka: KafkaClientOptions, topic: str) -> list[TopicPartition]:
    # The admin client asks the broker; a consumer's own metadata may not know a topic created just now.
    admin = AIOKafkaAdminClient(**kafka.aiokafka())
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [
        TopicPartition(topic, p["partition"])
        for p in sorted(description["partitions"], key=lambda p: p["partition"])
    ]


async def end_offsets(kafka: KafkaClientOptions, topic: str) -> int:
    """How many messages the topic holds (the sum of its partitions' end offsets)."""
    consumer = _consumer(kafka)
    await consumer.start()
    try:
        partitions = await _partitions(kafka, topic)
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def read_all(kafka: KafkaClientOptions, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message on the topic, as of now, partition by partition."""
    return await read_since(kafka, topic, None)


async def positions(kafka: KafkaClientOptions, topic: str) -> dict[int, int]:
    """Each partition's end offset now: where a later `read_since` starts."""
    consumer = _consumer(kafka)
    await consumer.start()
    try:
        partitions = await _partitions(kafka, topic)
        return {tp.partition: offset for tp, offset in (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()


async def read_since(
    kafka: KafkaClientOptions, topic: str, since: dict[int, int] | None
) -> list[ConsumerRecord[bytes, bytes]]:
    """The messages written to the topic after `since` (from `positions`; None: from the beginning), up
    to its end as of now; on a long-lived topic this reads only what a test caused, not the whole
    history."""
    consumer = _consumer(kafka)
    await consumer.start()
    try:
        partitions = await _partitions(kafka, topic)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        if since is None:
            await consumer.seek_to_beginning(*partitions)
        else:
            for tp in partitions:
                consumer.seek(tp, since.get(tp.partition, 0))
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp_records in batch.values():
                records.extend(tp_records)
        return records
    finally:
        await consumer.stop()


def kafka_test_broker(kafka: KafkaClientOptions) -> KafkaBroker:
    """A plain FastStream broker (no log pipeline) connecting as ``kafka`` says."""
    return KafkaBroker(kafka.bootstrap_servers, security=kafka.faststream_security())
