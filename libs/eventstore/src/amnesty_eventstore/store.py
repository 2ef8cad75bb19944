"""The event store of one schema, over a pool: appends group-committed, reads upcast.

Services append inside their own batch transactions (``append_many_in``); this front door is for callers
that append one stream at a time and concurrently, whose appends share a transaction by group commit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import asyncpg

from amnesty_eventstore import metrics
from amnesty_eventstore.appending import EVENT_ID_CONSTRAINT, AppendOutcome, append_many_in
from amnesty_eventstore.checkpoints import START, Checkpoint
from amnesty_eventstore.connections import DbConnection, Pool
from amnesty_eventstore.errors import EventIdConflict
from amnesty_eventstore.events import (
    ANY,
    AppendRequest,
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
)
from amnesty_eventstore.group_commit import GroupCommit
from amnesty_eventstore.horizon import oldest_transaction_age_seconds
from amnesty_eventstore.reading import read_all, read_stream
from amnesty_eventstore.schemas import store_schema
from amnesty_eventstore.upcasting import Upcasters


class EventStore:
    """Appends (group-committed) and reads of the store in ``schema``.

    ``async with EventStore(pool, "intake") as store: ...`` starts and stops the group commit's writer.
    To append inside a transaction of your own, use ``appending.append_in`` on its connection.
    """

    def __init__(
        self,
        pool: Pool,
        schema: str,
        *,
        upcasters: Upcasters | None = None,
        max_group_events: int = 5000,
        writers: int = 2,
    ) -> None:
        self.pool = pool
        self.schema = store_schema(schema).name
        self.upcasters = upcasters
        # Two groups in flight: the next is encoded and executed while the previous one commits (see
        # group_commit); each holds a pool connection while appends are waiting.
        self._group: GroupCommit[AppendRequest, AppendResult] = GroupCommit(
            pool,
            self._append_group,
            name=f"eventstore-{self.schema}",
            max_group_items=max_group_events,
            writers=writers,
            weight=_events_in,
            transactional=False,
        )
        self._append_seconds = metrics.APPEND_SECONDS.labels(self.schema)

    async def __aenter__(self) -> Self:
        self._group.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._group.close()

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
            (outcome,) = await self._group.submit([AppendRequest(stream_id, events, expected_version)])
        finally:
            self._append_seconds.observe(time.perf_counter() - started)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _append_group(
        self, conn: DbConnection, requests: Sequence[AppendRequest]
    ) -> list[AppendOutcome]:
        try:
            return await append_many_in(conn, self.schema, requests)
        except asyncpg.UniqueViolationError as exc:
            # Alone (the group commit's retry), a new event id stored with other content is this
            # append's own conflict; in a group it fails the statement and each append is retried alone.
            if len(requests) == 1 and exc.constraint_name == EVENT_ID_CONSTRAINT:
                return [EventIdConflict(requests[0].stream_id, ())]
            raise

    async def read_stream(self, stream_id: str, *, from_version: int = 1) -> list[RecordedEvent]:
        """The stream's events from ``from_version`` on, upcast to current versions."""
        async with self.pool.acquire() as conn:
            return await read_stream(
                conn, self.schema, stream_id, from_version=from_version, upcasters=self.upcasters
            )

    async def read_all(self, after: Checkpoint = START, *, limit: int = 1000) -> list[RecordedEvent]:
        """Up to ``limit`` events after ``after`` in checkpoint order (see reading.read_all)."""
        async with self.pool.acquire() as conn:
            return await read_all(conn, self.schema, after, limit=limit, upcasters=self.upcasters)

    async def oldest_transaction_age_seconds(self) -> float:
        """Age of the oldest open transaction holding back the read horizon (see horizon)."""
        async with self.pool.acquire() as conn:
            return await oldest_transaction_age_seconds(conn)


def _events_in(request: AppendRequest) -> int:
    return len(request.events)
