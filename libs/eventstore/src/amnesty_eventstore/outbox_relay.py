"""The outbox relay: publishes a schema's outbox to Kafka, in order, at least once, then deletes it.

Rows are written in the transaction of their events (see ``append_in``), read in id order, sent through
an idempotent producer (``acks=all``) and deleted only once the broker has acknowledged every one of
them. A relay killed in between sends those rows again after a restart: consumers recognise the
duplicates by their event ids (which the ``event-id`` header names too). Every message leaves signed by
the service (``signatures``): its bytes are final here, and the key stays with the one process that
publishes. One relay per schema is active
at a time, because two would interleave one key's messages: the leader holds a lease, a lock on the
schema's ``relay_lease`` table, in a transaction it keeps open on a connection of its own. Unlike an
advisory lock (one namespace for the whole database), only the schema's owner can take that lock, so
no other service's role can hold a relay off its leadership. The lease's transaction writes nothing, so
it takes no transaction id and holds back no reader's horizon.

A leader whose process crashes loses the lease with its socket. A leader whose host vanishes (power, a
partitioned network) sends no reset: with the operating system's keepalives the server would notice
after about two hours, and no relay would publish meanwhile. The lease's session therefore has the
server probe a silent client after 10 s and give up after 3 unanswered probes 5 s apart, or 30 s of
unacknowledged data; and the leader, on its side, takes a lease check unanswered for ``lease_check_s`` as
the lease lost, rather than wait out TCP's retransmissions (about a quarter of an hour).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber

from amnesty_eventstore.connections import DbConnection, Pool
from amnesty_eventstore.metrics import OUTBOX_PARKED, OUTBOX_PENDING, OUTBOX_PUBLISHED, OUTBOX_RELAY_LEADING
from amnesty_eventstore.pauses import pause
from amnesty_eventstore.record_batches import MAX_REQUEST_BYTES, publish_in_batches, record_size
from amnesty_eventstore.schemas import store_schema
from amnesty_eventstore.signatures import Signer

if TYPE_CHECKING:
    from asyncpg.transaction import Transaction

log = structlog.get_logger(__name__)

EVENT_ID_HEADER = "event-id"
"""The header naming the event a published message carries, so a consumer knows it without parsing."""

# Set on the lease's session, for its transaction only: any role may set them (see the module).
LEASE_SESSION = (
    "SET LOCAL idle_in_transaction_session_timeout = 0; "
    "SET LOCAL tcp_keepalives_idle = 10; "
    "SET LOCAL tcp_keepalives_interval = 5; "
    "SET LOCAL tcp_keepalives_count = 3; "
    "SET LOCAL tcp_user_timeout = 30000; "
)


class LeaseLost(Exception):  # noqa: N818 - what happened, as the log names it
    """The lease's connection did not answer: the leader stands down and competes again."""


class _StoppedMidPass(Exception):  # noqa: N818
    """The relay was stopped while Kafka had not acknowledged a pass (see ``_publish_or_stop``)."""


def create_producer(client: Mapping[str, Any], client_id: str) -> AIOKafkaProducer:
    """A producer that neither loses nor duplicates on its own retries, and keeps per-partition order.

    ``client``: the aiokafka connection options (address, security protocol, SASL credentials).
    """
    return AIOKafkaProducer(
        **client,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        # No lingering: a pass queues all its batches before the producer's sender first runs, so
        # nothing is gained by waiting; a linger would only add its delay to every hop of the pipeline.
        linger_ms=0,
        max_batch_size=256 * 1024,
        max_request_size=MAX_REQUEST_BYTES,
    )


async def stop_producer(producer: AIOKafkaProducer, within_s: float, service: str) -> None:
    """Stop a relay's producer, waiting at most ``within_s``: an idempotent producer flushes what it
    queued before it stops, and retries a batch for as long as the broker is away, so with the broker
    down a stop would wait for as long as the outage. What it had not delivered is still in the outbox
    (rows are deleted once acknowledged), and goes again."""
    try:
        await asyncio.wait_for(producer.stop(), within_s)
    except TimeoutError:
        log.warning(
            "a relay's producer did not flush in time; its undelivered rows stay in the outbox",
            service=service,
            waited_s=within_s,
        )


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    event_id: str
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


class OutboxRelay:
    """Relays one schema's outbox; run ``run()`` as a task, or call ``publish_pending()`` directly."""

    def __init__(
        self,
        pool: Pool,
        schema: str,
        producer: AIOKafkaProducer,
        *,
        service: str,
        signer: Signer | None = None,
        batch_size: int = 5000,
        poll_interval_s: float = 1.0,
        lease_check_s: float = 10.0,
        stop_grace_s: float = 5.0,
        new_producer: Callable[[], AIOKafkaProducer] | None = None,
    ) -> None:
        self._pool = pool
        self._store = store_schema(schema)
        self._producer = producer
        self._service = service
        self._signer = signer
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._lease_check_s = lease_check_s
        self._stop_grace_s = stop_grace_s
        self._new_producer = new_producer
        self._stop = asyncio.Event()  # run()'s
        self._wake = asyncio.Event()
        self._pending_measured_at = 0.0

    @property
    def producer(self) -> AIOKafkaProducer:
        """The producer publishing now (``new_producer`` may have replaced the one given): the one to stop."""
        return self._producer

    async def publish_pending(
        self, lease: DbConnection | None = None, *, conn: DbConnection | None = None
    ) -> int:
        """One pass: publish up to a batch of the oldest rows, delete them; returns how many.

        With ``lease`` (the leader's lease connection) the pass first proves on it that the lease is
        still held: a leader whose lease went with its session publishes nothing more. The rows are read
        and deleted on ``conn`` when given (the leader's own connection, outside the lease's
        transaction, so that the deletes commit), else on a connection of the pool.
        """
        if lease is not None:
            try:
                await lease.execute("SELECT 1", timeout=self._lease_check_s)
            except TimeoutError as exc:
                silent = f"the lease's connection did not answer in {self._lease_check_s:g} s"
                raise LeaseLost(silent) from exc
        if conn is None:
            async with self._pool.acquire() as pooled:
                return await self._pass(pooled)
        return await self._pass(conn)

    async def _pass(self, conn: DbConnection) -> int:
        messages = await self._next_batch(conn)
        if messages:
            sendable, oversized = _by_size(messages)
            if sendable:
                await self._publish_or_stop(sendable)
            await conn.execute(
                self._store.sql(
                    "WITH parked AS (INSERT INTO {outbox_parked} "
                    "(id, event_id, topic, key, value, headers, created_at, reason) "
                    "SELECT o.id, o.event_id, o.topic, o.key, o.value, o.headers, o.created_at, $2 "
                    "FROM {outbox} AS o WHERE o.id = ANY($1::bigint[])) "
                    "DELETE FROM {outbox} WHERE id = ANY($3::bigint[])"
                ),
                [m.id for m, _ in oversized],
                f"over the {MAX_REQUEST_BYTES} bytes a Kafka request may carry",
                [m.id for m in messages],
            )
            OUTBOX_PUBLISHED.labels(self._service).inc(len(sendable))
            for message, size in oversized:
                # No key or value here: either may hold what the service keeps from upstream.
                log.error(
                    "outbox message too large for any Kafka request; parked in outbox_parked",
                    service=self._service,
                    event_id=message.event_id,
                    topic=message.topic,
                    bytes=size,
                    limit=MAX_REQUEST_BYTES,
                )
            if oversized:
                OUTBOX_PARKED.labels(self._service).inc(len(oversized))
        await self._measure_pending(conn, found=len(messages))
        return len(messages)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set: active while this process holds the schema's relay lock.

        The lock lives with one connection; if that connection is lost the lock is gone too, so the relay
        stands down and competes for the lock again rather than publish beside another leader. Whatever
        ends a term of leadership, the relay competes again: a relay that stopped would stall every
        consumer of its topics without a sound.
        """
        self._stop = stop
        while not stop.is_set():
            try:
                await self._lead(stop)
            except _StoppedMidPass:
                log.warning(
                    "outbox relay stopped before Kafka acknowledged its pass; those rows stay in the "
                    "outbox and go again after the restart",
                    service=self._service,
                )
                return
            except Exception:
                log.exception("outbox relay lost its leadership; standing down", service=self._service)
                await pause(stop, self._poll_interval_s)
            finally:
                OUTBOX_RELAY_LEADING.labels(self._service).set(0)

    async def _lead(self, stop: asyncio.Event) -> None:
        async with self._pool.acquire() as lease:
            try:
                lease_held = await self._win_lease(stop, lease)
                if lease_held is None:
                    return
                async with self._pool.acquire() as leader:
                    try:
                        await self._lead_term(stop, lease, leader)
                    except BaseException:
                        leader.terminate()
                        raise
                await lease_held.rollback()
            except BaseException:
                # After a failure the connection's protocol state is unknown (a server that ended the
                # session may have sent its error before closing): close it outright, which ends the
                # lease with the session, instead of handing it back for the pool to reset — that
                # reset would fail again and end the relay.
                lease.terminate()
                raise

    async def _lead_term(self, stop: asyncio.Event, lease: DbConnection, leader: DbConnection) -> None:
        OUTBOX_RELAY_LEADING.labels(self._service).set(1)
        # A session hears notifications only between transactions, so never the lease's: the leader's
        # own connection listens, and runs the passes.
        channel = await self._store.channel(leader)
        await leader.add_listener(channel, self._on_notify)
        await self._relay_until(stop, lease, leader)
        await leader.remove_listener(channel, self._on_notify)

    async def _win_lease(self, stop: asyncio.Event, lease: DbConnection) -> Transaction | None:
        """Try for the schema's relay lease until won (its transaction, left open) or ``stop`` is set."""
        while not stop.is_set():
            lease_held = lease.transaction()
            await lease_held.start()
            try:
                # The lease is meant to stay open as long as the relay leads; a dead leader's session
                # ends with its socket, or with the keepalives' verdict (see the module). SHARE ROW
                # EXCLUSIVE conflicts with itself, and it is not the ACCESS EXCLUSIVE mode, whose WAL
                # record would take a transaction id.
                await lease.execute(
                    LEASE_SESSION
                    + self._store.sql("LOCK TABLE {relay_lease} IN SHARE ROW EXCLUSIVE MODE NOWAIT")
                )
                return lease_held
            except asyncpg.LockNotAvailableError:
                await lease_held.rollback()
            await pause(stop, self._poll_interval_s)
        return None

    async def _relay_until(self, stop: asyncio.Event, lease: DbConnection, leader: DbConnection) -> None:
        failures = 0
        while not stop.is_set():
            self._wake.clear()
            try:
                published = await self.publish_pending(lease, conn=leader)
                failures = 0
            except (KafkaError, OSError, TimeoutError) as exc:
                if lease.is_closed() or leader.is_closed():
                    raise  # the lease went with its connection, or the leader lost its own: stand down
                # The broker's trouble: unpublished rows stay in the outbox; try again after a pause
                # instead of dying quietly. Any other failure ends this term of leadership.
                failures += 1
                log.exception("outbox relay pass failed; retrying", service=self._service, failures=failures)
                if isinstance(exc, OutOfOrderSequenceNumber):
                    await self._renew_producer()
                await pause(stop, min(30.0, 0.5 * 2**failures))
                continue
            if published == self._batch_size:
                continue  # a backlog: keep going without waiting for a notification
            # NOTIFY only wakes us early; polling covers a missed notification or a lost connection.
            waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=self._poll_interval_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()

    async def _renew_producer(self) -> None:
        """Publish with a new producer from now on, after the broker answered OutOfOrderSequenceNumber.

        An idempotent producer numbers each partition's batches, and aiokafka counts a batch the broker
        refused for good (one over a topic's size limit, say) as sent: the broker, still expecting that
        number, refuses every later batch of the partition so, and the relay would have stalled there
        until a restart even once the cause was gone. A new producer has a new producer id, whose
        numbering starts afresh. Only that answer calls for one: other refusals (a record too large
        for any request, a topic not authorized) move no number, and a new producer would not help.
        """
        if self._new_producer is None:
            return
        fresh = self._new_producer()
        try:
            await fresh.start()
        except Exception:
            await fresh.stop()
            log.exception(
                "a new producer for the relay could not start; the old one goes on", service=self._service
            )
            return
        old, self._producer = self._producer, fresh
        await stop_producer(old, self._stop_grace_s, self._service)
        log.info("outbox relay publishes with a new producer", service=self._service)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _next_batch(self, conn: DbConnection) -> list[OutboxMessage]:
        rows = await conn.fetch(
            self._store.sql(
                "SELECT id, event_id, topic, key, value, headers FROM {outbox} ORDER BY id LIMIT $1"
            ),
            self._batch_size,
        )
        sign = self._signer.headers if self._signer is not None else _unsigned
        return [
            OutboxMessage(
                id=row_id,
                event_id=event_id,
                topic=topic,
                key=key,
                value=value,
                headers=[
                    (EVENT_ID_HEADER, event_id.encode()),
                    *((k, str(v).encode()) for k, v in orjson.loads(headers).items()),
                    *sign(topic, key, value),
                ],
            )
            # Unpacked by position, the event id turned into text once: this runs for every message.
            for row_id, event_id, topic, key, value, headers in (
                (r[0], str(r[1]), r[2], r[3], r[4], r[5]) for r in rows
            )
        ]

    async def _publish_or_stop(self, messages: list[OutboxMessage]) -> None:
        """Publish, unless the relay is stopped meanwhile and Kafka does not acknowledge within the grace.

        The producer is idempotent, so it retries a batch until the broker takes it and never gives up:
        with the broker away, a pass waits for as long as the outage lasts, and so did a stop. A pass
        stopped that way leaves its rows in the outbox (deleted only once acknowledged), to go again.
        """
        publishing = asyncio.ensure_future(self._publish(messages))
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({publishing, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not publishing.done():
                await asyncio.wait({publishing}, timeout=self._stop_grace_s)
        finally:
            stopped.cancel()
            if not publishing.done():
                publishing.cancel()
                with contextlib.suppress(asyncio.CancelledError, KafkaError):
                    await publishing
        if publishing.cancelled():
            raise _StoppedMidPass
        publishing.result()

    async def _publish(self, messages: list[OutboxMessage]) -> None:
        # Record batches built per partition and queued whole (``record_batches``); every acknowledgement
        # is awaited before the rows are deleted.
        await publish_in_batches(self._producer, messages)

    async def _measure_pending(self, conn: DbConnection, *, found: int) -> None:
        now = time.monotonic()
        if not found:  # the pass read nothing: nothing committed is waiting
            self._pending_measured_at = now
            OUTBOX_PENDING.labels(self._service).set(0)
        elif now - self._pending_measured_at > 1.0:
            self._pending_measured_at = now
            OUTBOX_PENDING.labels(self._service).set(
                await conn.fetchval(self._store.sql("SELECT count(*) FROM {outbox}"))
            )


def _by_size(messages: list[OutboxMessage]) -> tuple[list[OutboxMessage], list[tuple[OutboxMessage, int]]]:
    """The messages a Kafka request can carry, and the others with their size: those would fail every
    pass before anything was sent (``publish_in_batches`` refuses them), holding up the rows behind."""
    sendable: list[OutboxMessage] = []
    oversized: list[tuple[OutboxMessage, int]] = []
    for message in messages:
        size = record_size(message)
        if size > MAX_REQUEST_BYTES:
            oversized.append((message, size))
        else:
            sendable.append(message)
    return sendable, oversized


def _unsigned(_topic: str, _key: bytes | None, _value: bytes) -> list[tuple[str, bytes]]:
    return []
