"""A service's running parts, opened and closed in order: pool + migrations, broker, outbox relay, and
the watches on the oldest open transaction and on the consumers' lag.

Each service's entry point (its composition root) says which migrations, subscribers and routes it has;
this module only runs them, so the start and stop order is the same everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from amnesty_eventstore import (
    EVENTSTORE_MIGRATIONS,
    MigrationSource,
    Pool,
    create_pool,
    migrate,
    watch_oldest_transaction,
)
from amnesty_eventstore.kafka_batches import BatchPipeline
from amnesty_eventstore.outbox_relay import OutboxRelay, create_producer, stop_producer
from amnesty_eventstore.signatures import Signer
from amnesty_runtime.brokers import kafka_broker
from amnesty_runtime.heap import settle_heap
from amnesty_runtime.processing import watch_consumer_lag
from amnesty_runtime.service import ReadinessCheck, database_ready, kafka_ready
from amnesty_runtime.stack import Endpoints


@dataclass(frozen=True)
class Running:
    """What a started service holds: its pool (on its own schema) and its broker."""

    service: str
    schema: str
    pool: Pool
    broker: KafkaBroker

    def readiness(self) -> list[ReadinessCheck]:
        return [database_ready(lambda: self.pool.fetchval("SELECT 1")), kafka_ready(self.broker.ping)]


@contextlib.asynccontextmanager
async def running(
    service: str,
    endpoints: Endpoints,
    *,
    migrations: Sequence[MigrationSource] = (),
    subscribe: Callable[[KafkaBroker, Pool], Sequence[BatchPipeline]] = lambda _broker, _pool: (),
    relay: bool = True,
    signer: Signer | None = None,
    schema: str | None = None,
    pool_size: int = 8,
) -> AsyncIterator[Running]:
    """Open the service's pool, migrate its schema, start its subscribers and its outbox relay.

    Subscribers start last, once the relay runs, so nothing is consumed before the service can publish;
    on the way out they stop first and their batches in flight commit, so no batch is cut short by a
    closed pool. Every service exports the age of the oldest open transaction (it holds back readers).
    A relay needs ``signer``: nothing is published unsigned.
    """
    if relay and signer is None:
        raise ValueError(f"{service}: an outbox relay needs a signer (see amnesty_runtime.provenance)")
    schema = schema or service
    pool = await create_pool(
        endpoints.database_url(service), min_size=2, max_size=pool_size, application_name=f"amnesty-{service}"
    )
    try:
        await migrate(pool, schema, [EVENTSTORE_MIGRATIONS, *migrations])
        broker = kafka_broker(endpoints.kafka_client_options(service), f"amnesty-{service}")
        pipelines = subscribe(broker, pool)
        watch = asyncio.gather(watch_oldest_transaction(pool), watch_consumer_lag(service, lambda: pipelines))
        try:
            async with _relaying(service, schema, pool, endpoints, signer if relay else None):
                try:
                    # Inside: a start that fails part way (one subscriber joined its group, the next
                    # could not) stops what it started, rather than leave a member in the group until
                    # its session times out.
                    await broker.start()
                    settle_heap()
                    yield Running(service, schema, pool, broker)
                finally:
                    for pipeline in pipelines:
                        pipeline.stopping()
                    await broker.stop()
                    for pipeline in pipelines:
                        await pipeline.stopped()
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def _relaying(
    service: str, schema: str, pool: Pool, endpoints: Endpoints, signer: Signer | None
) -> AsyncIterator[None]:
    if signer is None:
        yield
        return
    client = endpoints.kafka_client_options(service).aiokafka()

    def new_producer() -> AIOKafkaProducer:
        return create_producer(client, f"amnesty-{service}-relay")

    producer = new_producer()
    try:
        await producer.start()
    except BaseException:
        await producer.stop()  # a start that failed may have opened connections: closed, not left
        raise
    stop = asyncio.Event()
    relay = OutboxRelay(pool, schema, producer, service=service, signer=signer, new_producer=new_producer)
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task
        await stop_producer(relay.producer, PRODUCER_STOP_S, service)


PRODUCER_STOP_S = 10.0
"""How long a stopping service waits for its relay's producer to flush."""
