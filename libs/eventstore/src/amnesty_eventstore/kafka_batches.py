"""A FastStream batch subscriber over a CheckpointedConsumer: one transaction per batch, pipelined.

Batches (``batch=True``) make one database transaction per poll instead of a broker round trip per
message. While one batch's transaction runs, the next batch is fetched and prepared (parsed, validated:
work that needs no state), so the CPU is not idle while PostgreSQL commits. Batches still commit one
after the other, in order.

The stored checkpoints are the only truth of where a group stands: on assignment every partition is
sought to its checkpoint (or to its beginning when it has none), so Kafka's own committed offsets,
committed in the background, are informational. A failed batch rewinds its partitions and comes again
after a pause (0.5 s doubling to 30 s), so a database outage is not a busy loop; a batch fetched before
the rewind is dropped and comes again too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, Topic

from amnesty_eventstore.connections import DbConnection
from amnesty_eventstore.consumption import BatchHandler, CheckpointedConsumer, Delivery
from amnesty_eventstore.pauses import pause

log = structlog.get_logger(__name__)

POLL_TIMEOUT_MS = 20
"""How long one poll waits for records. FastStream sleeps as long again after a poll that found none,
so with its default (200 ms) a message arriving during that sleep waited up to 200 ms before anyone
polled: on the latency path of every hop. An idle subscriber now polls 25 times a second, which costs
next to nothing."""

Prepare = Callable[[Sequence[Delivery]], BatchHandler]
"""The stateless work on a batch, done while the previous batch commits; returns what applies it."""


class _Backoff:
    """Pause before a failed batch comes again: 0.5 s, doubling to 30 s; reset by a success. A pause
    ends at once when the pipeline stops: the batch comes again after the restart, not here."""

    def __init__(self) -> None:
        self._delay = 0.0
        self._stopping = asyncio.Event()

    def succeeded(self) -> None:
        self._delay = 0.0

    def stop(self) -> None:
        self._stopping.set()

    async def failed(self) -> None:
        self._delay = min(30.0, self._delay * 2 or 0.5)
        await pause(self._stopping, self._delay)


@dataclass(frozen=True, slots=True)
class Membership:
    """How one process belongs to its consumer groups.

    With an ``instance_id`` it is a static member (KIP-345): it does not leave the group when it stops,
    and a restart under the same id within ``session_timeout_ms`` takes its partitions back without a
    rebalance; only once the session has expired do they move to the other members. Without one it is
    a dynamic member, which leaves on stop and whose partitions move at once.
    """

    instance_id: str | None = None
    session_timeout_ms: int = 10_000


@dataclass(frozen=True, slots=True)
class Fetching:
    """How long the broker may hold a fetch for more records (Kafka's ``fetch.max.wait.ms``).

    A batch costs a transaction of several round trips, a WAL flush, an outbox pass and a produce
    request, however few messages it carries. Answered at the first record, a consumer of a steady
    trickle applies batches of a few messages and pays that cost for each few: at 1,000 returns/s the
    services kept the two cores busy and fell behind. Held for ``wait_ms`` (or until ``min_bytes``,
    about a hundred messages, are there), the trickle comes in batches of tens, for at most ``wait_ms``
    more latency per hop; a backlog is served at once. ``wait_ms=0``: the first record is answered.
    """

    wait_ms: int = 0
    min_bytes: int = 64 * 1024

    @property
    def fetch_min_bytes(self) -> int:
        return self.min_bytes if self.wait_ms > 0 else 1

    @property
    def fetch_max_wait_ms(self) -> int:
        return self.wait_ms if self.wait_ms > 0 else 500  # the client's default: an idle fetch's poll


def _first_offsets(deliveries: Sequence[Delivery]) -> dict[tuple[str, int], int]:
    first: dict[tuple[str, int], int] = {}
    for d in deliveries:
        first.setdefault(d.coordinates, d.offset)
    return first


class BatchPipeline(ConsumerRebalanceListener):  # type: ignore[misc]
    """One batch committing while the next is prepared; what a subscriber of ``consumer`` runs.

    Also the rebalance listener: a partition is handed over only once its batch in flight has
    committed, and taken over at its stored checkpoint.
    """

    def __init__(
        self,
        consumer: CheckpointedConsumer,
        prepare: Prepare | None,
        forget: Callable[[], None] | None = None,
    ) -> None:
        self._consumer = consumer
        self._prepare = prepare
        self._forget = forget
        self._kafka: Callable[[], Any] = lambda: None
        self.subscriber: Any = None
        self._in_flight: asyncio.Task[bool] | None = None
        # Where the last failed batch rewound its partitions, until a batch commits again.
        self._rewound: dict[tuple[str, int], int] = {}
        self._backoff = _Backoff()
        # The next offset to apply of each assigned partition, as far as this process knows: what the
        # consumer lag is measured from.
        self._applied: dict[tuple[str, int], int] = {}
        # Where each newly assigned partition was sought to, until its first batch has shown it starts
        # there: a batch fetched before the seek took effect starts further on.
        self._sought: dict[tuple[str, int], int] = {}
        # Reads the checkpoints of partitions assigned while they could not be read (they stay paused).
        self._positioning: asyncio.Task[None] | None = None

    def attach(self, subscriber: Any) -> None:
        self.subscriber = subscriber
        self._kafka = lambda: subscriber.consumer

    def stopping(self) -> None:
        """The service is stopping: a failed batch's pause before it comes again ends now. The batch in
        flight is shielded from its waiters' cancellation (``settle``), so a stop would otherwise sit
        out the pause, up to 30 s."""
        self._backoff.stop()
        if self._positioning is not None:
            self._positioning.cancel()  # its partitions are read from their checkpoints after the restart

    async def stop(self) -> None:
        """Stop the subscriber, then let the batch in flight commit (before the pool closes)."""
        self.stopping()
        await self._stop_positioning()
        if self.subscriber is not None:
            await self.subscriber.stop()
        await self.settle()

    async def stopped(self) -> None:
        """The broker has stopped the subscriber (after ``stopping``): the task reading checkpoints has
        ended and the batch in flight committed, so neither uses the pool once it closes."""
        await self._stop_positioning()
        await self.settle()

    async def _stop_positioning(self) -> None:
        positioning, self._positioning = self._positioning, None
        if positioning is not None:
            positioning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await positioning

    async def handle(self, deliveries: Sequence[Delivery]) -> None:
        """Prepare this batch, wait for the previous one, then start committing this one."""
        if not deliveries:
            return
        handler = self._prepared(deliveries)
        if not await self.settle():
            # Fetched while the previous batch failed: drop it, it comes again. Fetched before that
            # batch's rewind, it lies beyond it (seek back to the rewind); fetched after, it is that
            # batch coming again (seek back to its own start). The lower of the two is right for both.
            first = _first_offsets(deliveries)
            self._seek({tp: min(o, self._rewound.get(tp, o)) for tp, o in first.items()})
            return
        self._rewound.clear()
        if self._no_longer_assigned(deliveries):
            # Fetched before a rebalance took some of its partitions, and started after it: another
            # member applies them now, and what this one would remember of them (``forget``) would be
            # stale. The partitions still here are read again from this batch's start (``_seek`` leaves
            # the others alone).
            self._seek(_first_offsets(deliveries))
            log.info("batch fetched before its partitions were revoked: dropped", group=self._consumer.group)
            return
        if gaps := self._gaps(deliveries):
            # Fetched from where Kafka's committed offsets (ahead of the checkpoints: they are committed
            # before a batch is applied) put the partition, before the assignment's seek to its checkpoint
            # took effect: applying it would skip what lies between. Dropped; read again from there.
            self._seek(_first_offsets(deliveries) | gaps)
            log.warning("batch fetched before its partitions were sought to their checkpoints: read again")
            return
        self._in_flight = asyncio.create_task(self._commit(deliveries, handler))

    def _prepared(self, deliveries: Sequence[Delivery]) -> BatchHandler | None:
        """What applies the batch; when preparing it fails, a handler that fails the batch in its turn.

        Raised from here, the error would end in FastStream's consume loop, with the offsets already
        acknowledged and the consumer's position past the batch: nothing would seek back, and the next
        batch's checkpoint would skip this one. Failed in the commit, it is rewound and comes again
        after a pause, as any failed batch does.
        """
        if self._prepare is None:
            return None
        try:
            return self._prepare(deliveries)
        except Exception as exc:
            failure = exc

            async def fail(_conn: DbConnection, _deliveries: Sequence[Delivery]) -> None:
                raise failure

            return fail

    def _no_longer_assigned(self, deliveries: Sequence[Delivery]) -> set[tuple[str, int]]:
        kafka = self._kafka()
        if kafka is None:
            return set()
        assigned = {(tp.topic, tp.partition) for tp in kafka.assignment()}
        return {d.coordinates for d in deliveries} - assigned

    def _gaps(self, deliveries: Sequence[Delivery]) -> dict[tuple[str, int], int]:
        """The partitions this batch starts beyond their checkpoint, for the first batch after their
        assignment (later batches follow what this process applied); and where they must start."""
        gaps = {}
        for tp, first in _first_offsets(deliveries).items():
            sought = self._sought.pop(tp, None)
            if sought is not None and first > sought:
                gaps[tp] = sought
        return gaps

    async def settle(self) -> bool:
        """Wait for the batch in flight; whether it committed (True when there was none).

        Shielded, and the batch stays in flight until it ends: a waiter that is cancelled (FastStream
        cancels its consume loop when the subscriber stops, while it waits here for the previous batch)
        neither cancels the commit, which would roll the batch back for nothing, nor loses it, so the
        next waiter (``stop``, or a rebalance handing the partitions over) still waits for it. Every
        waiter gets the same answer.
        """
        in_flight = self._in_flight
        if in_flight is None:
            return True
        committed = await asyncio.shield(in_flight)
        if self._in_flight is in_flight:
            self._in_flight = None
        return committed

    async def _commit(self, deliveries: Sequence[Delivery], handler: BatchHandler | None) -> bool:
        try:
            outcome = await self._consumer.apply(deliveries, handler)
        except Exception:
            log.exception(
                "batch failed; it will be re-delivered", group=self._consumer.group, size=len(deliveries)
            )
            first = _first_offsets(deliveries)
            self._seek(first)
            self._rewound = first
            if self._forget is not None:
                # It may have committed all the same (the commit's answer lost on the way): what the
                # service remembers of its partitions may be behind the store now.
                self._forget()
            await self._backoff.failed()
            return False
        self._backoff.succeeded()
        for d in deliveries:
            if d.coordinates in self._applied:  # not revoked meanwhile
                self._applied[d.coordinates] = max(self._applied[d.coordinates], d.offset + 1)
        log.debug(
            "batch applied",
            group=self._consumer.group,
            applied=outcome.applied,
            replayed=outcome.replayed,
        )
        return True

    def _seek(self, offsets: dict[tuple[str, int], int]) -> None:
        kafka = self._kafka()
        if kafka is None:
            return
        assigned = kafka.assignment()
        for (topic, partition), offset in offsets.items():
            tp = TopicPartition(topic, partition)
            if tp in assigned:
                kafka.seek(tp, offset)

    def lag(self) -> dict[str, int]:
        """Messages on the broker not yet applied, per topic, over the partitions assigned here (those the
        broker has not answered a fetch of yet are left out)."""
        kafka = self._kafka()
        behind: dict[str, int] = {}
        for (topic, partition), applied in list(self._applied.items()):
            end = kafka.highwater(TopicPartition(topic, partition)) if kafka is not None else None
            if end is not None:
                behind[topic] = behind.get(topic, 0) + max(0, end - applied)
        return behind

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if revoked:  # aiokafka calls this with nothing on every join, a first one too
            # A rebalance: rare, and what an operator looks for when a group pauses (no identifiers here).
            log.info("partitions revoked", group=self._consumer.group, partitions=_named(revoked))
        # The consume loop may have waited for the same batch and started the one it had fetched
        # (for these partitions, before the revocation) the moment that batch ended: that one too.
        while self._in_flight is not None:
            await self.settle()
        await self._stop_positioning()
        if revoked and self._forget is not None:
            self._forget()  # another member may write what the service remembers of them
        for tp in revoked:
            self._applied.pop((tp.topic, tp.partition), None)
            self._sought.pop((tp.topic, tp.partition), None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", group=self._consumer.group, partitions=_named(assigned))
        if self._forget is not None:
            # Also when this member held nothing to revoke: what it remembers from an earlier time it
            # held these partitions may be behind what another member wrote since.
            self._forget()
        kafka = self._kafka()
        if kafka is None or not assigned:
            return
        # Nothing is fetched until every partition is sought to its checkpoint: the fetcher would start
        # where Kafka's committed offsets say, ahead of the checkpoints, while the checkpoints are read.
        kafka.pause(*assigned)
        try:
            await self._seek_to_checkpoints(kafka, assigned)
        except Exception:
            # The checkpoints could not be read (the database away). Resumed now, the partitions would
            # be fetched from Kafka's committed offsets, and a batch from there would be applied and
            # skip what lies between: they stay paused until a task has read their checkpoints.
            log.exception(
                "reading the checkpoints of assigned partitions failed; they stay paused until it works",
                group=self._consumer.group,
            )
            self._positioning = asyncio.create_task(self._seek_later(set(assigned)))
            return
        kafka.resume(*assigned)

    async def _seek_to_checkpoints(self, kafka: Any, assigned: set[TopicPartition]) -> None:
        stored = await self._consumer.stored_checkpoints((tp.topic, tp.partition) for tp in assigned)
        fresh = [tp for tp in assigned if (tp.topic, tp.partition) not in stored]
        for tp in assigned:
            if (offset := stored.get((tp.topic, tp.partition))) is not None:
                kafka.seek(tp, offset)
        sought = dict(stored)
        if fresh:
            # No checkpoint: nothing of the partition was applied, whatever Kafka has committed. Its
            # first batch is held to its beginning as another's to its checkpoint (``_gaps``).
            await kafka.seek_to_beginning(*fresh)
            with contextlib.suppress(KafkaError):  # then its lag counts from 0, and no batch is held
                for tp, beginning in (await kafka.beginning_offsets(fresh)).items():
                    sought[(tp.topic, tp.partition)] = beginning
        self._sought |= sought
        for tp in assigned:
            self._applied[(tp.topic, tp.partition)] = sought.get((tp.topic, tp.partition), 0)

    async def _seek_later(self, partitions: set[TopicPartition]) -> None:
        """Read the checkpoints of ``partitions`` (paused) until it works, then resume those still
        assigned; between tries, a failed batch's pause (``_Backoff``)."""
        backoff = _Backoff()
        while True:
            await backoff.failed()
            kafka = self._kafka()
            still = partitions & set(kafka.assignment()) if kafka is not None else set()
            if not still:
                return
            try:
                await self._seek_to_checkpoints(kafka, still)
            except Exception:
                log.exception(
                    "reading the checkpoints of assigned partitions failed again", group=self._consumer.group
                )
                continue
            kafka.resume(*still)
            log.info(
                "partitions resumed at their checkpoints",
                group=self._consumer.group,
                partitions=_named(still),
            )
            return


def _named(partitions: set[TopicPartition]) -> list[str]:
    return sorted(f"{tp.topic}:{tp.partition}" for tp in partitions)


async def _records(message: Any) -> Sequence[Any]:
    """The batch's raw records, as the handler's argument: decoding each one into a body of its own
    would be wasted. (The handler asking for the message from FastStream's context instead cost a
    worker thread's round trip per batch: fast_depends resolves a context field in a thread pool.)"""
    raw = message.raw_message
    # A tuple from aiokafka, a list from FastStream's in-memory test broker.
    return raw if isinstance(raw, tuple | list) else (raw,)


def subscribe_checkpointed(
    broker: KafkaBroker,
    consumer: CheckpointedConsumer,
    *topics: str,
    max_records: int = 500,
    persistent: bool = True,
    prepare: Prepare | None = None,
    forget: Callable[[], None] | None = None,
    membership: Membership = Membership(),
    fetching: Fetching = Fetching(),
) -> BatchPipeline:
    """Register a batch subscriber of ``topics`` in ``consumer``'s group that applies every batch once.

    ``prepare`` (optional) does a batch's stateless work while the previous batch commits and returns
    the handler that applies it; without it the consumer's own handler applies the batch. ``forget``
    (optional) is called when partitions are revoked, to drop what the service keeps in memory of them.
    ``persistent=False`` for a subscriber added at run time and stopped later (e.g. a projection moving
    to a new version), so the broker object does not keep it. Returns the pipeline (its ``subscriber``
    is FastStream's): ``await pipeline.stopped()`` once the broker has stopped, or ``await
    pipeline.stop()``, so the last transaction ends before the pool closes. ``membership`` says whether
    this process is a static member of the group (``Membership``); ``fetching`` how long the broker
    may gather a batch (``Fetching``).
    """
    pipeline = BatchPipeline(consumer, prepare, forget)
    subscriber = broker.subscriber(
        # Provisioned by the stack (or the operator) with their partitions and retention: FastStream
        # would try to create them, and a service's principal may not, so every start logged a warning.
        # A missing topic fails the start (UnknownTopicOrPartitionError after aiokafka's 40 s request
        # timeout, tried with the admin principal) where one allowed to create topics got one partition.
        *(Topic(topic, declare=False) for topic in topics),
        group_id=consumer.group,
        group_instance_id=membership.instance_id,
        session_timeout_ms=membership.session_timeout_ms,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=POLL_TIMEOUT_MS,
        fetch_min_bytes=fetching.fetch_min_bytes,
        fetch_max_wait_ms=fetching.fetch_max_wait_ms,
        auto_offset_reset="earliest",
        # The stored checkpoints decide where a partition resumes, so Kafka's commits need not wait
        # for each batch: they go in the background.
        ack_policy=AckPolicy.ACK_FIRST,
        listener=pipeline,
        persistent=persistent,
        decoder=_records,
    )
    pipeline.attach(subscriber)

    @subscriber
    async def apply_batch(records: Any) -> None:
        await pipeline.handle([Delivery.of(r) for r in records])

    return pipeline
