"""The outbox relay publishes in order, at least once; a consumer drops what a killed relay re-sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import REGISTRY

from amnesty_eventstore import DbConnection, NewEvent, Pool, append_in
from amnesty_eventstore.consumption import CheckpointedConsumer, Delivery
from amnesty_eventstore.kafka_batches import subscribe_checkpointed
from amnesty_eventstore.outbox_relay import EVENT_ID_HEADER, OutboxMessage, OutboxRelay, create_producer
from amnesty_runtime.stack import Endpoints
from tests.support.kafka import end_offsets, kafka_test_broker
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

STREAMS, PER_STREAM = 30, 10


class Killed(BaseException):
    """The process ending where it stands: nothing of the relay's catches it (as SIGKILL would not let
    it; not SystemExit, which asyncio re-raises out of its event loop from whatever task raised it)."""


class KilledAfterPublishing(OutboxRelay):
    """A relay that dies after Kafka acknowledged its batch and before it deleted the rows."""

    async def _publish(self, messages: list[OutboxMessage]) -> None:
        await super()._publish(messages)
        raise Killed("killed between publishing and marking published")


class FailsItsFirstPass(OutboxRelay):
    """A relay whose lock connection answers its first pass with a client-side protocol error.

    That is what asyncpg raises when the server's error for an ended session is read before the close
    (``cannot switch to state 15; another operation (2) is in progress``): an error of no expected type.
    """

    failed_pid: int | None = None

    async def publish_pending(
        self, lease: DbConnection | None = None, *, conn: DbConnection | None = None
    ) -> int:
        if lease is not None and self.failed_pid is None:
            self.failed_pid = lease.get_server_pid()
            raise asyncpg.InternalClientError(
                "cannot switch to state 15; another operation (2) is in progress"
            )
        return await super().publish_pending(lease, conn=conn)


LOCK_HOLDER = (
    "SELECT pid FROM pg_locks WHERE locktype = 'relation' AND granted AND mode = 'ShareRowExclusiveLock' "
    "AND relation = format('%I.relay_lease', $1::text)::regclass"
)


async def _append_events(pool: Pool, schema: str, topic: str) -> None:
    async with pool.acquire() as conn:
        for version in range(1, PER_STREAM + 1):
            for s in range(STREAMS):
                stream = f"person-{s}"
                event = NewEvent(
                    event_id=uuid.uuid4(),
                    type="Probe",
                    data={"stream": stream, "version": version},
                    topic=topic,
                    key=stream,
                )
                await append_in(conn, schema, stream, [event], version - 1)


async def _consume_all(
    endpoints: Endpoints, pool: Pool, schema: str, topic: str, total: int
) -> list[tuple[str, int]]:
    """Consume the topic through the checkpointed batch subscriber; the applied (stream, version) in order."""
    await pool.execute(
        f'CREATE TABLE "{schema}".applied (seq bigserial, event_id text UNIQUE, stream text, version int)'
    )

    async def handle(conn: DbConnection, deliveries: Sequence[Delivery]) -> None:
        import json

        # As every consumer does: a message the relay sent again is known by its event id.
        rows = [
            (dict(d.headers)[EVENT_ID_HEADER].decode(), e["stream"], e["version"])
            for d, e in ((d, json.loads(d.value)) for d in deliveries)
        ]
        await conn.executemany(
            f'INSERT INTO "{schema}".applied (event_id, stream, version) VALUES ($1, $2, $3) '
            "ON CONFLICT (event_id) DO NOTHING",
            rows,
        )

    consumer = CheckpointedConsumer(pool, schema, f"g-{uuid.uuid4().hex[:6]}", handle)
    broker = kafka_test_broker(endpoints.kafka_admin)
    subscribe_checkpointed(broker, consumer, topic, max_records=100)
    async with broker:
        await broker.start()
        for _ in range(300):
            stored = await consumer.stored_checkpoints([(topic, p) for p in range(3)])
            if sum(stored.values()) == total:
                break
            await asyncio.sleep(0.1)
    rows = await pool.fetch(f'SELECT stream, version FROM "{schema}".applied ORDER BY seq')
    return [(r["stream"], r["version"]) for r in rows]


async def test_what_a_killed_relay_resends_is_dropped_by_the_consumer(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    await _append_events(admin_pool, fresh_schema, fresh_topic)
    producer = create_producer(endpoints.kafka_admin.aiokafka(), "relay-test")
    await producer.start()
    try:
        with pytest.raises(Killed):
            await KilledAfterPublishing(admin_pool, fresh_schema, producer, service="test").publish_pending()
        assert (
            await admin_pool.fetchval(f'SELECT count(*) FROM "{fresh_schema}".outbox') == STREAMS * PER_STREAM
        )

        relay = OutboxRelay(admin_pool, fresh_schema, producer, service="test")
        assert await relay.publish_pending() == STREAMS * PER_STREAM
        assert await relay.publish_pending() == 0
    finally:
        await producer.stop()
    assert REGISTRY.get_sample_value("amnesty_outbox_pending", {"service": "test"}) == 0

    published = await end_offsets(endpoints.kafka_admin, fresh_topic)
    assert published == 2 * STREAMS * PER_STREAM, "the killed relay's batch must really be in Kafka twice"

    applied = await _consume_all(endpoints, admin_pool, fresh_schema, fresh_topic, published)

    assert sorted(applied) == sorted(
        (f"person-{s}", v) for s in range(STREAMS) for v in range(1, PER_STREAM + 1)
    )
    for s in range(STREAMS):
        versions = [v for stream, v in applied if stream == f"person-{s}"]
        assert versions == list(range(1, PER_STREAM + 1)), "one person's events must arrive in order"


async def test_one_pass_larger_than_a_record_batch_keeps_each_keys_partition_and_order(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    # 4 keys x 150 events of 4 KiB: ~600 KiB per key, so every partition's share of the one pass spans
    # several record batches (256 KiB each) queued one after the other.
    keys, per_key, padding = [f"p_{k:043d}" for k in range(4)], 150, "x" * 4096
    async with admin_pool.acquire() as conn:
        for version in range(1, per_key + 1):
            for key in keys:
                event = NewEvent(
                    event_id=uuid.uuid4(),
                    type="Probe",
                    data={"key": key, "version": version, "padding": padding},
                    topic=fresh_topic,
                    key=key,
                )
                await append_in(conn, fresh_schema, key, [event], version - 1)
    producer = create_producer(endpoints.kafka_admin.aiokafka(), "relay-test")
    await producer.start()
    try:
        relay = OutboxRelay(admin_pool, fresh_schema, producer, service="test", batch_size=5000)
        assert await relay.publish_pending() == len(keys) * per_key
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        fresh_topic,
        **endpoints.kafka_admin.aiokafka(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    arrived: dict[str, list[tuple[int, int]]] = {key: [] for key in keys}
    try:
        while sum(map(len, arrived.values())) < len(keys) * per_key:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for r in records:
                    arrived[json.loads(r.value)["key"]].append((tp.partition, json.loads(r.value)["version"]))
    finally:
        await consumer.stop()
    for key, seen in arrived.items():
        # Where the Java client (and aiokafka's default partitioner) puts the key, in append order.
        expected = DefaultPartitioner()(key.encode(), [0, 1, 2], [0, 1, 2])
        assert seen == [(expected, v) for v in range(1, per_key + 1)], key


async def test_a_row_no_kafka_request_can_carry_is_parked_and_the_rows_behind_it_go(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    """Published, it failed every pass before anything was sent: the relay retried it for good and
    every row behind it (a service's whole output) waited. Parked, it is kept and counted."""
    insert = f'INSERT INTO "{fresh_schema}".outbox (event_id, topic, key, value) VALUES ($1, $2, $3, $4)'
    huge, fine = uuid.uuid4(), uuid.uuid4()
    await admin_pool.execute(insert, huge, fresh_topic, b"k", b"x" * (1024 * 1024 + 1))
    await admin_pool.execute(insert, fine, fresh_topic, b"k", b"{}")
    parked = {"service": "test"}
    before = REGISTRY.get_sample_value("amnesty_outbox_parked_total", parked) or 0.0
    producer = create_producer(endpoints.kafka_admin.aiokafka(), "relay-test")
    await producer.start()
    try:
        relay = OutboxRelay(admin_pool, fresh_schema, producer, service="test")
        assert await relay.publish_pending() == 2
    finally:
        await producer.stop()

    assert await end_offsets(endpoints.kafka_admin, fresh_topic) == 1
    assert await admin_pool.fetchval(f'SELECT count(*) FROM "{fresh_schema}".outbox') == 0
    rows = await admin_pool.fetch(
        f'SELECT event_id, length(value) AS size FROM "{fresh_schema}".outbox_parked'
    )
    assert [(r["event_id"], r["size"]) for r in rows] == [(huge, 1024 * 1024 + 1)]
    assert REGISTRY.get_sample_value("amnesty_outbox_parked_total", parked) == before + 1


RelayT = TypeVar("RelayT", bound=OutboxRelay)


@contextlib.asynccontextmanager
async def running_relay(
    endpoints: Endpoints,
    pool: Pool,
    schema: str,
    relay_class: type[RelayT],
    *,
    poll_interval_s: float,
    lease_check_s: float = 10.0,
    stop_grace_s: float = 5.0,
    renewable: bool = False,
) -> AsyncIterator[tuple[RelayT, asyncio.Task[None]]]:
    """A relay of ``schema`` running as a task with its own producer; stopped and awaited on the way out."""
    producer = create_producer(endpoints.kafka_admin.aiokafka(), "relay-test")
    await producer.start()
    stop = asyncio.Event()
    relay = relay_class(
        pool,
        schema,
        producer,
        service="test",
        poll_interval_s=poll_interval_s,
        lease_check_s=lease_check_s,
        stop_grace_s=stop_grace_s,
        new_producer=(lambda: create_producer(endpoints.kafka_admin.aiokafka(), "relay-test"))
        if renewable
        else None,
    )
    running = asyncio.create_task(relay.run(stop))
    try:
        yield relay, running
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await relay.producer.stop()


async def test_the_running_relay_publishes_what_is_appended_later(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    async with running_relay(endpoints, admin_pool, fresh_schema, OutboxRelay, poll_interval_s=30):
        await asyncio.sleep(0.5)  # the relay is idle, waiting on NOTIFY, not on its 30 s poll
        await _append_events(admin_pool, fresh_schema, fresh_topic)
        for _ in range(100):
            if await end_offsets(endpoints.kafka_admin, fresh_topic) == STREAMS * PER_STREAM:
                break
            await asyncio.sleep(0.1)
        assert await end_offsets(endpoints.kafka_admin, fresh_topic) == STREAMS * PER_STREAM


async def test_a_relay_that_loses_its_lock_connection_stands_down_and_leads_again(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    async with running_relay(endpoints, admin_pool, fresh_schema, OutboxRelay, poll_interval_s=0.2):
        first = await eventually(
            lambda: admin_pool.fetchval(LOCK_HOLDER, fresh_schema), lambda pid: pid is not None
        )
        # The server ends the leader's session: with it goes the lock.
        assert await admin_pool.fetchval("SELECT pg_terminate_backend($1)", first)
        await _another_term_leads_and_publishes(endpoints, admin_pool, fresh_schema, fresh_topic, first)


class NeverAcknowledged(OutboxRelay):
    """A relay whose broker does not acknowledge: the idempotent producer retries a batch for as long as
    the broker is away. Faked here: the one local broker cannot be made to withhold acknowledgements
    (a topic's min.insync.replicas of 2 on it was acknowledged all the same, measured: Kafka 4 caps it
    at the replication factor), and stopping it would stop every other test's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.publishing = asyncio.Event()

    async def _publish(self, messages: list[OutboxMessage]) -> None:
        self.publishing.set()
        await asyncio.Event().wait()


@contextlib.asynccontextmanager
async def topic_of_one_partition(endpoints: Endpoints, **configs: str) -> AsyncIterator[tuple[str, Any]]:
    """A new topic of one partition with ``configs``, and an admin client to alter it; deleted after."""
    topic = f"test.{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(**endpoints.kafka_admin.aiokafka())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1, topic_configs=configs)])
        yield topic, admin
        await admin.delete_topics([topic])
    finally:
        await admin.close()


async def test_a_relay_stopped_while_kafka_does_not_acknowledge_stops_and_keeps_the_rows(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    await _append_events(admin_pool, fresh_schema, fresh_topic)
    async with running_relay(
        endpoints, admin_pool, fresh_schema, NeverAcknowledged, poll_interval_s=0.2, stop_grace_s=0.5
    ) as (relay, _):
        await asyncio.wait_for(relay.publishing.wait(), 30)
    # Out of the block: running_relay stopped the relay and awaited it for at most 10 s.
    pending = await admin_pool.fetchval(f"SELECT count(*) FROM {fresh_schema}.outbox")
    assert pending == STREAMS * PER_STREAM, "unacknowledged rows stay in the outbox, to go again"
    assert not await admin_pool.fetchval(LOCK_HOLDER, fresh_schema), "the lease went with the relay"


async def test_after_the_broker_refused_a_batch_for_good_the_relay_publishes_again_once_it_takes_it(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str
) -> None:
    # The idempotent producer counts the refused batch as sent, so the broker refuses every later batch
    # of the partition (OutOfOrderSequenceNumber): without a new producer the relay stalls for good.
    async with (
        topic_of_one_partition(endpoints, **{"max.message.bytes": "2000"}) as (topic, admin),
        running_relay(
            endpoints, admin_pool, fresh_schema, CountsRefusals, poll_interval_s=0.2, renewable=True
        ) as (relay, _),
    ):
        # One batch taken first: the broker then holds the producer's numbering for the partition.
        await _append_probe(admin_pool, fresh_schema, topic, 1, {"n": 1})
        await eventually(lambda: end_offsets(endpoints.kafka_admin, topic), lambda n: n == 1)
        first = relay.producer
        await _append_probe(admin_pool, fresh_schema, topic, 2, {"pad": "x" * 5000})  # beyond the limit
        await eventually(lambda: _refused(relay), lambda n: n >= 1)
        # An operator raises the topic's limit: the row that waited in the outbox goes now.
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": "1048588"})]
        )
        await eventually(lambda: end_offsets(endpoints.kafka_admin, topic), lambda n: n == 2)
        assert relay.producer is not first, "published by a new producer"


async def _append_probe(pool: Pool, schema: str, topic: str, version: int, data: dict[str, Any]) -> None:
    async with pool.acquire() as conn:
        probe = NewEvent(uuid.uuid4(), "Probe", data, topic=topic, key="person-0")
        await append_in(conn, schema, "person-0", [probe], version - 1)


class CountsRefusals(OutboxRelay):
    """A relay that counts the passes the broker refused."""

    refused = 0

    async def _publish(self, messages: list[OutboxMessage]) -> None:
        try:
            await super()._publish(messages)
        except KafkaError:
            self.refused += 1
            raise


async def _refused(relay: CountsRefusals) -> int:
    return relay.refused


class ShowsItsLeaseSession(OutboxRelay):
    """A relay that notes the keepalive settings its lease's session runs with, at its first pass."""

    keepalives: tuple[str, ...] | None = None

    async def publish_pending(
        self, lease: DbConnection | None = None, *, conn: DbConnection | None = None
    ) -> int:
        if lease is not None and self.keepalives is None:
            row = await lease.fetchrow(
                "SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'), "
                "current_setting('tcp_keepalives_count'), current_setting('tcp_user_timeout')"
            )
            self.keepalives = tuple(row) if row is not None else ()
        return await super().publish_pending(lease, conn=conn)


async def test_the_lease_session_has_the_server_probe_a_silent_leader(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str
) -> None:
    # A leader's host that vanishes sends no reset: the server must find out itself, and end the
    # session that holds the lease, in seconds rather than the operating system's two hours.
    async with running_relay(
        endpoints, admin_pool, fresh_schema, ShowsItsLeaseSession, poll_interval_s=0.2
    ) as (relay, _):
        await eventually(lambda: _noted(relay), lambda noted: noted is not None)
    # Seconds, seconds, probes, milliseconds.
    assert relay.keepalives == ("10", "5", "3", "30000")


async def _noted(relay: ShowsItsLeaseSession) -> tuple[str, ...] | None:
    return relay.keepalives


async def test_a_leader_whose_lease_connection_goes_silent_stands_down_and_leads_again(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    if not endpoints.local_postgres:
        pytest.skip("the server runs elsewhere: its processes cannot be stopped from here")
    async with running_relay(
        endpoints, admin_pool, fresh_schema, OutboxRelay, poll_interval_s=0.2, lease_check_s=1.0
    ):
        first = await eventually(
            lambda: admin_pool.fetchval(LOCK_HOLDER, fresh_schema), lambda pid: pid is not None
        )
        # Leading (the gauge is shared with the tests before: the lock is taken a moment before it is set).
        await eventually(_leading, lambda leading: leading == 1)
        # The lease's server process stops answering, as a session across a partitioned network does.
        os.kill(first, signal.SIGSTOP)
        try:
            await eventually(_leading, lambda leading: leading == 0)
        finally:
            os.kill(first, signal.SIGCONT)
        # Resumed, the server finds the client gone and ends the session: the lease is free again.
        await _another_term_leads_and_publishes(endpoints, admin_pool, fresh_schema, fresh_topic, first)


async def _leading() -> float | None:
    return REGISTRY.get_sample_value("amnesty_outbox_relay_leading", {"service": "test"})


async def _another_term_leads_and_publishes(
    endpoints: Endpoints, pool: Pool, schema: str, topic: str, first: int
) -> None:
    """The lease is held from another session than ``first``, and what is appended then is published."""
    await eventually(lambda: pool.fetchval(LOCK_HOLDER, schema), lambda pid: pid not in (None, first))
    await _append_events(pool, schema, topic)
    await eventually(lambda: end_offsets(endpoints.kafka_admin, topic), lambda n: n == STREAMS * PER_STREAM)


async def test_a_relay_whose_lock_connection_fails_in_any_way_closes_it_and_leads_again(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    async with running_relay(endpoints, admin_pool, fresh_schema, FailsItsFirstPass, poll_interval_s=0.2) as (
        relay,
        running,
    ):
        await eventually(
            lambda: admin_pool.fetchval(LOCK_HOLDER, fresh_schema),
            lambda pid: pid not in (None, relay.failed_pid) and relay.failed_pid is not None,
        )
        assert not running.done(), "the relay must survive an error of any type on its lock connection"
        # The failed connection was closed, not handed back to the pool still holding the lock.
        assert not await admin_pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", relay.failed_pid
        )
        await _append_events(admin_pool, fresh_schema, fresh_topic)
        await eventually(
            lambda: end_offsets(endpoints.kafka_admin, fresh_topic),
            lambda n: n == STREAMS * PER_STREAM,
        )
        assert REGISTRY.get_sample_value("amnesty_outbox_relay_leading", {"service": "test"}) == 1
    assert REGISTRY.get_sample_value("amnesty_outbox_relay_leading", {"service": "test"}) == 0
