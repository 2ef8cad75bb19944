"""A FastStream batch subscriber over a CheckpointedConsumer: seek to checkpoints, one commit per batch.

Batches (``batch=True``) make one database transaction and one offset commit per poll instead of a broker
round trip per message. Offsets are committed after the transaction (``NACK_ON_ERROR``: on failure the
batch is rewound and comes again, after a pause so a database outage is not a busy loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog
from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from amnesty_eventstore.consumption import CheckpointedConsumer, Delivery

log = structlog.get_logger(__name__)


class SeekToCheckpoints(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, resume each partition at the checkpoint stored with the service's state."""

    def __init__(self, consumer: CheckpointedConsumer) -> None:
        self._consumer = consumer
        self._kafka: Callable[[], Any] = lambda: None

    def attach(self, kafka_consumer: Callable[[], Any]) -> None:
        self._kafka = kafka_consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        kafka = self._kafka()
        if kafka is None or not assigned:
            return
        stored = await self._consumer.stored_checkpoints((tp.topic, tp.partition) for tp in assigned)
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is not None:
                kafka.seek(tp, offset)


class _Backoff:
    """Pause before a failed batch comes again: 0.5 s, doubling to 30 s; reset by a success."""

    def __init__(self) -> None:
        self._delay = 0.0

    def succeeded(self) -> None:
        self._delay = 0.0

    async def failed(self) -> None:
        self._delay = min(30.0, self._delay * 2 or 0.5)
        await asyncio.sleep(self._delay)


def subscribe_checkpointed(
    broker: KafkaBroker,
    consumer: CheckpointedConsumer,
    *topics: str,
    max_records: int = 500,
    persistent: bool = True,
) -> Any:
    """Register a batch subscriber of ``topics`` in ``consumer``'s group that applies every batch once.

    ``persistent=False`` for a subscriber added at run time and stopped later (e.g. a projection moving
    to a new version), so the broker object does not keep it.
    """
    listener = SeekToCheckpoints(consumer)
    subscriber = broker.subscriber(
        *topics,
        group_id=consumer.group,
        batch=True,
        max_records=max_records,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        listener=listener,
        persistent=persistent,
    )
    listener.attach(lambda: subscriber.consumer)
    backoff = _Backoff()

    @subscriber
    async def apply_batch(msg: KafkaMessage) -> None:
        records = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
        try:
            outcome = await consumer.apply([Delivery.of(r) for r in records])
        except Exception:
            log.exception("batch failed; it will be re-delivered", group=consumer.group, size=len(records))
            await backoff.failed()
            raise
        backoff.succeeded()
        log.debug(
            "batch applied",
            group=consumer.group,
            applied=outcome.applied,
            replayed=outcome.replayed,
            duplicates=outcome.duplicates,
        )

    return subscriber
