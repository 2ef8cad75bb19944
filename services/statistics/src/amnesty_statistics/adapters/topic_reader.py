"""Reading topics from their beginning up to given end offsets, outside any consumer group (a rebuild)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition

from amnesty_eventstore.consumption import Delivery
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_statistics.domain.lag import TopicPartition as Coordinates

STALL_S = 120.0
"""A read that gets no message for this long while short of its end offsets fails, rather than hang."""


async def read_to_ends(
    kafka: KafkaClientOptions, ends: Mapping[Coordinates, int], *, client_id: str, max_records: int
) -> AsyncIterator[list[Delivery]]:
    """Every message of the partitions in ``ends`` below its end offset, from the beginning, in batches
    (each partition's messages in order)."""
    # A group id although nothing is committed and no group is joined (partitions are assigned):
    # aiokafka 0.14's group-less consumer re-raises its own cancellation from stop().
    consumer = AIOKafkaConsumer(
        **kafka.aiokafka(),
        client_id=client_id,
        group_id=f"{client_id}-reader",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        remaining = {TopicPartition(t, p): end for (t, p), end in ends.items() if end > 0}
        if not remaining:
            return
        consumer.assign(list(remaining))
        await consumer.seek_to_beginning(*remaining)
        progressed = time.monotonic()
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=max_records)
            batch = [
                Delivery.of(r) for tp, records in fetched.items() for r in records if r.offset < remaining[tp]
            ]
            for tp, end in list(remaining.items()):
                if await consumer.position(tp) >= end:
                    del remaining[tp]
            if batch:
                progressed = time.monotonic()
                yield batch
            elif time.monotonic() - progressed > STALL_S:
                raise TimeoutError(f"no message for {STALL_S:.0f}s, short of the end offsets of {remaining}")
    finally:
        await consumer.stop()
