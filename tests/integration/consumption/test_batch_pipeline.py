"""The pipelined subscriber on the real broker: batches failing now and then are applied once, in order."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaProducer

from amnesty_contracts.topics import UPSTREAM
from amnesty_eventstore import DbConnection, Pool
from amnesty_eventstore.consumption import BatchHandler, CheckpointedConsumer, Delivery
from amnesty_eventstore.kafka_batches import Fetching, subscribe_checkpointed
from amnesty_runtime.brokers import BROKER_LOGGER, kafka_broker
from amnesty_runtime.stack import Endpoints
from tests.support.kafka import kafka_test_broker
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

KEYS, PER_KEY = 20, 30


async def test_failing_batches_are_applied_once_in_order_with_the_next_one_prepared_meanwhile(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    await admin_pool.execute(f'CREATE TABLE "{fresh_schema}".applied (seq bigserial, key text, n int)')
    producer = AIOKafkaProducer(**endpoints.kafka_admin.aiokafka(), acks="all")
    await producer.start()
    try:
        for n in range(PER_KEY):
            for k in range(KEYS):
                await producer.send(fresh_topic, json.dumps({"n": n}).encode(), key=f"k{k}".encode())
        await producer.flush()
    finally:
        await producer.stop()

    calls = 0

    def prepare(deliveries: Sequence[Delivery]) -> BatchHandler:
        parsed = {d: ((d.key or b"").decode(), json.loads(d.value)["n"]) for d in deliveries}

        async def handle(conn: DbConnection, to_apply: Sequence[Delivery]) -> None:
            nonlocal calls
            calls += 1
            await conn.executemany(
                f'INSERT INTO "{fresh_schema}".applied (key, n) VALUES ($1, $2)',
                [parsed[d] for d in to_apply],
            )
            if calls % 4 == 2:  # every fourth transaction fails after writing: it must leave no trace
                raise RuntimeError("the database went away mid-batch")

        return handle

    async def unprepared(_conn: DbConnection, _deliveries: Sequence[Delivery]) -> None:
        raise AssertionError("every batch goes through prepare")

    consumer = CheckpointedConsumer(admin_pool, fresh_schema, "g", unprepared)
    broker = kafka_test_broker(endpoints.kafka_admin)
    pipeline = subscribe_checkpointed(broker, consumer, fresh_topic, max_records=40, prepare=prepare)
    async with broker:
        await broker.start()
        await eventually(
            lambda: consumer.stored_checkpoints([(fresh_topic, p) for p in range(3)]),
            lambda stored: sum(stored.values()) == KEYS * PER_KEY,
            timeout_s=120,
        )
    await pipeline.settle()

    rows = await admin_pool.fetch(f'SELECT key, n FROM "{fresh_schema}".applied ORDER BY seq')
    assert calls > 4, "some batches failed and came again"
    assert sorted((r["key"], r["n"]) for r in rows) == sorted(
        (f"k{k}", n) for k in range(KEYS) for n in range(PER_KEY)
    ), "each message applied exactly once"
    for k in range(KEYS):
        assert [r["n"] for r in rows if r["key"] == f"k{k}"] == list(range(PER_KEY)), "one key, in order"


async def test_a_trickle_held_by_the_broker_arrives_as_one_batch(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    """Messages sent one by one, well apart, are answered together once ``min_bytes`` of them are there:
    the broker holds the fetch rather than answering at the first."""
    batches: list[int] = []

    async def handle(_conn: DbConnection, deliveries: Sequence[Delivery]) -> None:
        batches.append(len(deliveries))

    consumer = CheckpointedConsumer(admin_pool, fresh_schema, "g", handle)
    broker = kafka_test_broker(endpoints.kafka_admin)
    # Each message is a record batch of about 1,070 bytes on the broker: four fall short of 4,500, five
    # reach it. The wait is far longer than the sending takes.
    held = Fetching(wait_ms=10_000, min_bytes=4_500)
    pipeline = subscribe_checkpointed(broker, consumer, fresh_topic, max_records=100, fetching=held)
    producer = AIOKafkaProducer(**endpoints.kafka_admin.aiokafka(), acks="all")
    async with broker:
        await broker.start()
        await producer.start()
        try:
            for _ in range(5):
                await producer.send_and_wait(fresh_topic, b"x" * 1000, key=b"k")
                await asyncio.sleep(0.2)  # answered at the first record, each would be a batch of its own
        finally:
            await producer.stop()
        await eventually(lambda: _sum(batches), lambda n: n == 5, timeout_s=30)
    await pipeline.settle()
    assert batches == [5]


async def _sum(batches: list[int]) -> int:
    return sum(batches)


async def test_a_service_subscribes_to_its_provisioned_topic_without_trying_to_create_it(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def handle(_conn: DbConnection, _deliveries: Sequence[Delivery]) -> None:
        pass

    # As intake runs: its own principal (no right to create topics), its group prefix, its topic.
    consumer = CheckpointedConsumer(admin_pool, fresh_schema, f"intake-{fresh_schema}", handle)
    broker = kafka_broker(endpoints.kafka_client_options("intake"), "provisioning-test")
    pipeline = subscribe_checkpointed(broker, consumer, UPSTREAM)
    with caplog.at_level(logging.INFO):
        async with broker:
            await broker.start()
    await pipeline.settle()

    # The stack (or the operator) provisions the topics with their partitions and retention. FastStream
    # would try to create a subscriber's topics, and every service start logged that it could not.
    said = [r.getMessage() for r in caplog.records if r.name == BROKER_LOGGER]
    assert any("assigned to partitions" in line for line in said), said
    assert not [line for line in said if "creat" in line.lower()]
