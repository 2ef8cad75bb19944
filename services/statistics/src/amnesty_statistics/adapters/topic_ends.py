"""The end offsets of the projection's topics: how many messages each partition holds right now."""

from __future__ import annotations

import time
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_statistics.domain.lag import TopicPartition as Coordinates

PARTITIONS_REFRESH_S: Final = 60.0
"""Partitions can be added to a topic: the list is asked for again after this long."""


class TopicEnds:
    """Reads the topics' partitions (admin client) and their end offsets (a consumer that never joins a
    group nor commits)."""

    def __init__(self, kafka: KafkaClientOptions, topics: tuple[str, ...], client_id: str) -> None:
        self._topics = topics
        self._admin = AIOKafkaAdminClient(**kafka.aiokafka(), client_id=client_id)
        # A group id although nothing is committed: aiokafka 0.14's group-less consumer re-raises its own
        # cancellation from stop(). No subscription is made, so it never joins that group.
        self._consumer = AIOKafkaConsumer(
            **kafka.aiokafka(),
            client_id=client_id,
            group_id=f"{client_id}-offsets",
            enable_auto_commit=False,
        )
        self._partitions: list[TopicPartition] = []
        self._listed_at = 0.0

    async def start(self) -> None:
        await self._admin.start()
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def __call__(self) -> dict[Coordinates, int]:
        if not self._partitions or time.monotonic() - self._listed_at > PARTITIONS_REFRESH_S:
            self._partitions = await self._list_partitions()
            self._listed_at = time.monotonic()
        ends = await self._consumer.end_offsets(self._partitions)
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def _list_partitions(self) -> list[TopicPartition]:
        partitions: list[TopicPartition] = []
        for description in await self._admin.describe_topics(list(self._topics)):
            if description.get("error_code"):
                raise LookupError(f"topic {description.get('topic')}: error {description['error_code']}")
            partitions += [
                TopicPartition(description["topic"], p["partition"]) for p in description["partitions"]
            ]
        return sorted(partitions)
