"""Publishing to amnesty.upstream.v1 like any upstream system: as fast as possible, or N times real time.

A chunk goes as record batches built here (the outbox relay's ``publish_in_batches``): ``send()`` per
message cost 21-27 µs of CPU each, batches 8-10 µs (100,000 submissions, best of 2), CPU the services
share with the simulator on one machine while it publishes the whole history.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from aiokafka import AIOKafkaProducer

from amnesty_eventstore.record_batches import publish_in_batches
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_simulator.submissions import Outgoing

CHUNK = 2000


@dataclass(frozen=True, slots=True)
class _Record:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


async def publish(
    messages: Sequence[Outgoing],
    *,
    kafka: KafkaClientOptions,
    topic: str,
    speed: float | None,
    sent: Callable[[int, date], None] = lambda _count, _day: None,
) -> float:
    """Send the messages in order (each key's partition as Kafka's default partitioner gives it, in order
    within it); ``speed``: simulated seconds per real second (None: as fast as possible).

    ``sent(count, day)`` is called as each chunk is acknowledged, with the simulated day reached.
    Returns the wall time spent.
    """
    producer = AIOKafkaProducer(
        **kafka.aiokafka(),
        client_id="amnesty-simulator",
        acks="all",
        enable_idempotence=True,
        linger_ms=10,
        max_batch_size=512 * 1024,
    )
    started = time.monotonic()
    try:
        # Started inside the try: a broker that cannot be reached still closes the producer's connections.
        await producer.start()
        for start in range(0, len(messages), CHUNK):
            chunk = messages[start : start + CHUNK]
            if speed is not None:
                due = (chunk[0].at - messages[0].at).total_seconds() / speed
                await asyncio.sleep(max(0.0, due - (time.monotonic() - started)))
            await publish_in_batches(producer, [_Record(topic, m.key, m.value) for m in chunk])
            sent(len(chunk), chunk[-1].at.date())
    finally:
        await producer.stop()
    return time.monotonic() - started
