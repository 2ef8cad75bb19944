"""The event store of one schema, over a pool: what a service holds and passes around."""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from amnesty_eventstore import metrics
from amnesty_eventstore.checkpoints import START, Checkpoint
from amnesty_eventstore.connections import Pool
from amnesty_eventstore.events import (
    ANY,
    AppendRequest,
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
)
from amnesty_eventstore.group_commit import GroupCommitter
from amnesty_eventstore.horizon import oldest_transaction_age_seconds
from amnesty_eventstore.reading import read_all, read_stream
from amnesty_eventstore.schemas import store_schema
from amnesty_eventstore.snapshots import Snapshot, load_snapshot, save_snapshot
from amnesty_eventstore.subscription import Subscription
from amnesty_eventstore.upcasting import Upcasters


class EventStore:
    """Appends (group-committed), reads, subscriptions and snapshots of the store in ``schema``.

    ``async with EventStore(pool, "intake") as store: ...`` starts and stops the group commit's
    writers. To append inside a transaction of your own, use ``appending.append_in`` on its connection.
    """

    def __init__(
        self,
        pool: Pool,
        schema: str,
        *,
        upcasters: Upcasters | None = None,
        writers: int = 1,
        max_group_events: int = 5000,
        direct_events: int = 256,
    ) -> None:
        self.pool = pool
        self.schema = store_schema(schema).name
        self.upcasters = upcasters
        self._committer = GroupCommitter(
            pool, self.schema, writers=writers, max_group_events=max_group_events, direct_events=direct_events
        )
        self._append_seconds = metrics.APPEND_SECONDS.labels(self.schema)

    async def __aenter__(self) -> Self:
        self._committer.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._committer.close()

    async def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: ExpectedVersion = ANY
    ) -> AppendResult:
        """Append ``events`` to ``stream_id`` atomically, committed together with concurrent appends.

        Raises ConcurrencyError when the stream is not at ``expected_version`` and EventIdConflict when
        an event id is stored with other content; either way nothing of this append is written, and
        the other appends of its group are not affected. A retry of a done append returns its result.
        """
        started = time.perf_counter()
        try:
            return await self._committer.append(AppendRequest(stream_id, events, expected_version))
        finally:
            self._append_seconds.observe(time.perf_counter() - started)

    async def read_stream(self, stream_id: str, *, from_version: int = 1) -> list[RecordedEvent]:
        """The stream's events from ``from_version`` on, upcast to current versions."""
        async with self.pool.acquire() as conn:
            return await read_stream(
                conn, self.schema, stream_id, from_version=from_version, upcasters=self.upcasters
            )

    async def read_all(self, after: Checkpoint = START, *, limit: int = 1000) -> list[RecordedEvent]:
        """Up to ``limit`` events after ``after`` in commit order (see reading.read_all)."""
        async with self.pool.acquire() as conn:
            return await read_all(conn, self.schema, after, limit=limit, upcasters=self.upcasters)

    def subscribe(
        self, after: Checkpoint = START, *, prefetch: int = 2000, poll_interval_s: float = 1.0
    ) -> Subscription:
        """All events after ``after``, then live; use with ``async with`` (see Subscription)."""
        return Subscription(
            self.pool,
            self.schema,
            after=after,
            upcasters=self.upcasters,
            prefetch=prefetch,
            poll_interval_s=poll_interval_s,
        )

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` as its stream's latest (unless a later one is stored)."""
        async with self.pool.acquire() as conn:
            await save_snapshot(conn, self.schema, snapshot)

    async def load_snapshot(self, stream_id: str, *, schema_version: int | None = None) -> Snapshot | None:
        """The stream's latest snapshot, if any (and in ``schema_version`` when given)."""
        async with self.pool.acquire() as conn:
            return await load_snapshot(conn, self.schema, stream_id, schema_version=schema_version)

    async def oldest_transaction_age_seconds(self) -> float:
        """Age of the oldest open transaction holding back the read horizon (see horizon)."""
        async with self.pool.acquire() as conn:
            return await oldest_transaction_age_seconds(conn)
