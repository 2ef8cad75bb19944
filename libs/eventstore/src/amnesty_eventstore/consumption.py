"""Effectively-once consumption: a batch of Kafka messages applied in one PostgreSQL transaction.

In that transaction the consumer locks its partitions' checkpoints, drops what it has applied before
(by offset), lets the service apply the rest to its state (and append outgoing events, which reach
Kafka through the outbox) and moves the checkpoints. Kafka offsets are committed only afterwards, and
on assignment the consumer seeks to the stored checkpoint, so a crash anywhere re-delivers a batch that
is then skipped or applied once.

A message sent again at a new offset (a relay killed between publishing and deleting its outbox rows)
is the service's to recognise: its state is keyed by event id (eligibility's person histories,
statistics' person facts), so applying an event it holds already changes nothing. A separate table of
handled ids would repeat that knowledge and cost an insert per message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from amnesty_eventstore.connections import DbConnection, Pool
from amnesty_eventstore.schemas import store_schema

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One Kafka message as the consumer saw it: its coordinates and its raw bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def of(cls, record: Any) -> Delivery:
        """From an aiokafka ``ConsumerRecord`` (what FastStream's ``KafkaMessage.raw_message`` holds)."""
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value if record.value is not None else b"",
            timestamp_ms=record.timestamp,
            headers=tuple(record.headers or ()),
        )

    @property
    def coordinates(self) -> TopicPartition:
        return (self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one batch came to: applied, or skipped as already applied (below the checkpoint)."""

    applied: int
    replayed: int


@dataclass(frozen=True, slots=True)
class Selection:
    """The deliveries of a batch still to apply, and the checkpoints the batch moves to."""

    fresh: list[Delivery]
    replayed: int
    next_offsets: dict[TopicPartition, int]


def select_unapplied(deliveries: Sequence[Delivery], checkpoints: Mapping[TopicPartition, int]) -> Selection:
    """Drop deliveries below their partition's checkpoint; compute the checkpoints after this batch."""
    fresh = [d for d in deliveries if d.offset >= checkpoints.get(d.coordinates, 0)]
    next_offsets: dict[TopicPartition, int] = {}
    for d in deliveries:
        next_offsets[d.coordinates] = max(next_offsets.get(d.coordinates, 0), d.offset + 1)
    moved = {tp: max(o, checkpoints.get(tp, 0)) for tp, o in next_offsets.items()}
    return Selection(fresh=fresh, replayed=len(deliveries) - len(fresh), next_offsets=moved)


AfterCommit = Callable[[], None]
"""What a handler does once its batch's transaction has committed (never when it rolled back)."""

BatchHandler = Callable[[DbConnection, Sequence[Delivery]], Awaitable[AfterCommit | None]]
"""Applies deliveries to a service's state on the given connection, inside the batch's transaction."""


class CheckpointedConsumer:
    """A consumer group's state in one schema: its checkpoints, and the handler of its batches."""

    def __init__(
        self,
        pool: Pool,
        schema: str,
        group: str,
        handler: BatchHandler,
    ) -> None:
        self._pool = pool
        self._group = group
        self._handler = handler
        self._store = store_schema(schema)

    @property
    def group(self) -> str:
        return self._group

    async def stored_checkpoints(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """The next offsets to apply, for the partitions that have one."""
        topics, numbers = _unzip(partitions)
        rows = await self._pool.fetch(
            self._store.sql(
                "SELECT topic, partition, next_offset FROM {consumer_checkpoints} "
                "WHERE consumer_group = $1 AND (topic, partition) IN "
                "(SELECT * FROM unnest($2::text[], $3::int[]))"
            ),
            self._group,
            topics,
            numbers,
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    async def apply(
        self, deliveries: Sequence[Delivery], handler: BatchHandler | None = None
    ) -> BatchOutcome:
        """Apply a batch effectively once; raises (and writes nothing) when the handler or database fails.

        ``handler`` replaces the consumer's own for this batch (one bound to what was prepared of it).
        """
        if not deliveries:
            return BatchOutcome(0, 0)
        after_commit = None
        async with self._pool.acquire() as conn, conn.transaction():
            checkpoints = await self._lock_checkpoints(conn, {d.coordinates for d in deliveries})
            selection = select_unapplied(deliveries, checkpoints)
            if selection.fresh:
                after_commit = await (handler or self._handler)(conn, selection.fresh)
            await self._store_checkpoints(conn, selection.next_offsets)
        if after_commit is not None:
            after_commit()
        return BatchOutcome(applied=len(selection.fresh), replayed=selection.replayed)

    async def set_checkpoints(self, conn: DbConnection, next_offsets: Mapping[TopicPartition, int]) -> None:
        """Record where the group stands, in ``conn``'s transaction: for state built in bulk beside the
        consumer (a rebuild), which the group then resumes from."""
        topics, numbers = _unzip(next_offsets)
        await conn.execute(
            self._store.sql(
                "INSERT INTO {consumer_checkpoints} AS c (consumer_group, topic, partition, next_offset) "
                "SELECT $1, t, p, o FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u(t, p, o) "
                "ON CONFLICT (consumer_group, topic, partition) "
                "DO UPDATE SET next_offset = excluded.next_offset, updated_at = now()"
            ),
            self._group,
            topics,
            numbers,
            [next_offsets[tp] for tp in zip(topics, numbers, strict=True)],
        )

    async def _lock_checkpoints(
        self, conn: DbConnection, partitions: set[TopicPartition]
    ) -> dict[TopicPartition, int]:
        topics, numbers = _unzip(partitions)
        # One round trip ensures each row exists (a new partition starts at offset 0) and locks it: a
        # DO UPDATE that changes nothing still takes the row lock, as FOR UPDATE would, and returns the
        # row's stored offset. Sorted, so two consumers locking overlapping partitions take the locks in
        # the same order and cannot deadlock.
        rows = await conn.fetch(
            self._store.sql(
                "INSERT INTO {consumer_checkpoints} AS c (consumer_group, topic, partition, next_offset) "
                "SELECT $1, t, p, 0 FROM unnest($2::text[], $3::int[]) AS u(t, p) ORDER BY t, p "
                "ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = c.next_offset "
                "RETURNING topic, partition, next_offset"
            ),
            self._group,
            topics,
            numbers,
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    async def _store_checkpoints(
        self, conn: DbConnection, next_offsets: Mapping[TopicPartition, int]
    ) -> None:
        topics, numbers = _unzip(next_offsets)
        await conn.execute(
            self._store.sql(
                "UPDATE {consumer_checkpoints} AS c SET next_offset = u.o, updated_at = now() "
                "FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u(t, p, o) "
                "WHERE c.consumer_group = $1 AND c.topic = u.t AND c.partition = u.p"
            ),
            self._group,
            topics,
            numbers,
            [next_offsets[tp] for tp in zip(topics, numbers, strict=True)],
        )


def _unzip(partitions: Iterable[TopicPartition]) -> tuple[list[str], list[int]]:
    ordered = sorted(partitions)
    return [t for t, _ in ordered], [p for _, p in ordered]
