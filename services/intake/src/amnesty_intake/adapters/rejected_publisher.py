"""Publishing rejected messages to amnesty.rejected.v1, acknowledged before the batch commits.

Rejections are not kept in intake's tables (they hold the original bytes, raw identifiers included);
they go straight to the dead-letter topic, and a batch commits only once Kafka has them, so a crash
re-sends rather than loses them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from amnesty_contracts import RejectedMessage


class RejectedPublisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, rejected: Sequence[tuple[bytes | None, RejectedMessage]]) -> None:
        """Send each (original key, message) and wait for every acknowledgement."""
        futures = [
            await self._producer.send(self._topic, message.model_dump_json().encode(), key=key)
            for key, message in rejected
        ]
        await asyncio.gather(*futures)
