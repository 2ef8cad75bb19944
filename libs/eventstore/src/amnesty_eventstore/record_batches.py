"""Publishing a pass of the outbox as Kafka record batches built here, one open batch per partition.

aiokafka's ``send()`` costs a future, a partition lookup and a turn through its accumulator for every
message: about three times the CPU per message of filling a partition's batch and queueing it whole
(``send_batch``), which is what the relay does for every message the services publish.

What ``send()`` guaranteed still holds: a keyed record goes to Kafka's default partition for its key
(``partitioning``), one partition's records keep their order (batches are filled in row order and
queued one after the other; the idempotent producer keeps them in that order), and a record larger
than a request may carry is refused before anything is queued.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any, Final, Protocol

from aiokafka.errors import MessageSizeTooLargeError, UnknownTopicOrPartitionError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from amnesty_eventstore.partitioning import partition_of

MAX_REQUEST_BYTES: Final = 1024 * 1024
"""The largest request the relay's producer sends (aiokafka's ``max_request_size``, Kafka's default)."""


class Publishable(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes: ...
    @property
    def headers(self) -> list[tuple[str, bytes]]: ...


class BatchProducer(Protocol):
    """What of ``AIOKafkaProducer`` publishing batches takes."""

    async def partitions_for(self, topic: str) -> set[int]: ...
    def create_batch(self) -> BatchBuilder: ...
    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> asyncio.Future[Any]: ...


def record_size(record: Publishable) -> int:
    """The most ``record`` takes in a record batch, and so in a produce request."""
    size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(record.key, record.value, record.headers)
    return size


async def publish_in_batches(
    producer: BatchProducer, records: Sequence[Publishable], *, max_request_bytes: int = MAX_REQUEST_BYTES
) -> None:
    """Publish ``records`` in order per partition; returns once the broker has acknowledged every one.

    Raises (a ``KafkaError``) when a topic has no partitions known, a record is too large, or the broker
    refuses a batch; batches queued before that may have been published (the caller sends them again).
    """
    for record in records:
        size = record_size(record)
        if size > max_request_bytes:
            raise MessageSizeTooLargeError(
                f"a record for {record.topic} is {size} bytes, more than a request may carry "
                f"({max_request_bytes})"
            )
    partitions = {topic: await _partitions(producer, topic) for topic in {r.topic for r in records}}
    # Records without a key have no partition of their own: one per topic and pass, so they fill batches.
    unkeyed = {topic: random.choice(every) for topic, every in partitions.items()}  # noqa: S311 - spread only
    open_batches: dict[tuple[str, int], BatchBuilder] = {}
    acknowledgements: list[asyncio.Future[Any]] = []
    try:
        for record in records:
            every = partitions[record.topic]
            partition = unkeyed[record.topic] if record.key is None else partition_of(record.key, every)
            batch = open_batches.get((record.topic, partition))
            if batch is None or not _append(batch, record):
                if batch is not None:  # full: queue it, then start the partition's next one
                    acknowledgements.append(await _queue(producer, batch, record.topic, partition))
                batch = open_batches[(record.topic, partition)] = producer.create_batch()
                _append(batch, record)  # an empty batch takes any one record
        for (topic, partition), batch in open_batches.items():
            acknowledgements.append(await _queue(producer, batch, topic, partition))
    except BaseException:
        # What was queued is not waited for, but its outcome is taken, so none is left unretrieved.
        for acknowledgement in acknowledgements:
            acknowledgement.add_done_callback(_retrieved)
        raise
    await asyncio.gather(*acknowledgements)


async def _queue(
    producer: BatchProducer, batch: BatchBuilder, topic: str, partition: int
) -> asyncio.Future[Any]:
    # Closed first: an open batch queued is one the producer's send() may still add records to.
    batch.close()
    return await producer.send_batch(batch, topic, partition=partition)


async def _partitions(producer: BatchProducer, topic: str) -> list[int]:
    every = sorted(await producer.partitions_for(topic))
    if not every:
        raise UnknownTopicOrPartitionError(f"no partitions known for {topic}")
    return every


def _append(batch: BatchBuilder, record: Publishable) -> bool:
    """Whether ``record`` went into ``batch`` (False: the batch is full)."""
    return (
        batch.append(key=record.key, value=record.value, timestamp=None, headers=record.headers) is not None
    )


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
