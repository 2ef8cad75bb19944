"""A consumer process for the kill test: applies a topic into a table, slowly, until it has all of it.

Run as ``python -m tests.reliability.consumer_worker BOOTSTRAP DSN SCHEMA TOPIC GROUP TOTAL``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from amnesty_eventstore import DbConnection, create_pool
from amnesty_eventstore.consumption import CheckpointedConsumer, Delivery
from amnesty_eventstore.kafka_batches import subscribe_checkpointed
from amnesty_runtime.kafka_client import KafkaClientOptions
from tests.support.kafka import kafka_test_broker


async def main(kafka: str, dsn: str, schema: str, topic: str, group: str, total: int) -> None:
    pool = await create_pool(dsn, min_size=1, max_size=4)

    async def handle(conn: DbConnection, deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            key = (d.key or b"").decode()
            # No identity check: each message is sent once, so a second row means the checkpoint failed.
            await conn.execute(f'INSERT INTO "{schema}".applied (event_id) VALUES ($1)', d.value.decode())
            await conn.execute(
                f'INSERT INTO "{schema}".totals (key, n) VALUES ($1, 1) '
                "ON CONFLICT (key) DO UPDATE SET n = totals.n + 1",
                key,
            )
        await asyncio.sleep(0.02)  # a slow batch: a wide window for the kill to land inside one

    consumer = CheckpointedConsumer(pool, schema, group, handle)
    broker = kafka_test_broker(KafkaClientOptions.from_json(kafka))
    subscribe_checkpointed(broker, consumer, topic, max_records=25)
    async with broker:
        await broker.start()
        while sum((await consumer.stored_checkpoints([(topic, p) for p in range(3)])).values()) < total:
            await asyncio.sleep(0.1)
    await pool.close()


if __name__ == "__main__":
    kafka, dsn, schema, topic, group, total = sys.argv[1:7]
    asyncio.run(main(kafka, dsn, schema, topic, group, int(total)))
