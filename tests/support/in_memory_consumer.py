"""A consumer group's part without a database, for a service's Kafka door run on FastStream's test broker:
every delivery is applied, with the handler the door prepared for the batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from amnesty_eventstore.consumption import BatchHandler, BatchOutcome, CheckpointedConsumer, Delivery


@dataclass
class InMemoryConsumer:
    group: str

    async def apply(
        self, deliveries: Sequence[Delivery], handler: BatchHandler | None = None
    ) -> BatchOutcome:
        assert handler is not None, "the door prepares every batch"
        await handler(None, deliveries)  # type: ignore[arg-type]  # in-memory stores need no connection
        return BatchOutcome(len(deliveries), 0)

    async def stored_checkpoints(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return {}


def in_memory_consumer(group: str) -> CheckpointedConsumer:
    """An ``InMemoryConsumer`` where the runtime takes a ``CheckpointedConsumer``."""
    consumer: CheckpointedConsumer = InMemoryConsumer(group)  # type: ignore[assignment]
    return consumer
