"""Publishing to amnesty.upstream.v1 like any upstream system: as fast as possible, or N times real time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import date

from aiokafka import AIOKafkaProducer

from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_simulator.submissions import Outgoing

CHUNK = 2000


async def publish(
    messages: Sequence[Outgoing],
    *,
    kafka: KafkaClientOptions,
    topic: str,
    speed: float | None,
    sent: Callable[[int, date], None] = lambda _count, _day: None,
) -> float:
    """Send the messages in order; ``speed``: simulated seconds per real second (None: as fast as possible).

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
            futures = [await producer.send(topic, m.value, key=m.key) for m in chunk]
            await asyncio.gather(*futures)
            sent(len(chunk), chunk[-1].at.date())
    finally:
        await producer.stop()
    return time.monotonic() - started
