"""A subscription to all events: catch up from a checkpoint, then follow live, in commit order.

Each round reads through a server-side cursor up to a horizon frozen at its start (reading.catch_up);
between rounds the subscription waits for a NOTIFY from a commit of events, or polls. The
notification is only a wake-up: what to read is decided by the checkpoint and the horizon, so a lost
or early notification costs latency, never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncpg

from amnesty_eventstore.checkpoints import START, Checkpoint
from amnesty_eventstore.connections import Pool
from amnesty_eventstore.events import RecordedEvent
from amnesty_eventstore.reading import catch_up
from amnesty_eventstore.schemas import store_schema
from amnesty_eventstore.upcasting import Upcasters

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# A round's connection can end under it: the server ends a transaction left idle too long (a slow
# consumer during a long catch-up) or the connection drops. The round then resumes from the checkpoint.
_RESUMABLE = (
    asyncpg.IdleInTransactionSessionTimeoutError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    OSError,
)


class Subscription:
    """Every event after ``after``, exactly once, in commit order, then the new ones as they commit.

    Use as ``async with Subscription(pool, schema, after=checkpoint) as events: async for event in
    events: ...``; ``checkpoint`` is the last event handed out (store it with what you derive from it).
    Holds one pooled connection for LISTEN and borrows another for each round.
    """

    def __init__(
        self,
        pool: Pool,
        schema: str,
        *,
        after: Checkpoint = START,
        upcasters: Upcasters | None = None,
        prefetch: int = 2000,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._pool = pool
        self._schema = store_schema(schema)
        self._after = after
        self._last: RecordedEvent | None = None
        self._upcasters = upcasters
        self._prefetch = prefetch
        self._poll_interval_s = poll_interval_s
        self._wakeup = asyncio.Event()
        self._listener: asyncpg.pool.PoolConnectionProxy[asyncpg.Record] | None = None
        self._channel = ""
        self._iterators: list[AsyncGenerator[Any, None]] = []

    @property
    def checkpoint(self) -> Checkpoint:
        """The checkpoint of the last event handed out (``after`` before the first)."""
        return self._last.checkpoint if self._last is not None else self._after

    async def __aenter__(self) -> Self:
        # Listen before the first read, so a commit between a round's end and the wait still wakes it.
        self._listener = await self._pool.acquire()
        self._channel = await self._schema.channel(self._listener)
        await self._listener.add_listener(self._channel, self._notified)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        iterators, self._iterators = self._iterators, []
        for iterator in iterators:
            # One still running in another task ends when that task is cancelled.
            with contextlib.suppress(RuntimeError):
                await iterator.aclose()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(*_RESUMABLE):
                await listener.remove_listener(self._channel, self._notified)
            await self._pool.release(listener)

    def _notified(self, *_: object) -> None:
        self._wakeup.set()

    def __aiter__(self) -> AsyncIterator[RecordedEvent]:
        return self._handed_out(self._events())

    def batches(self) -> AsyncIterator[Sequence[RecordedEvent]]:
        """The same events as iterating, a cursor batch at a time (cheaper for bulk consumers)."""
        return self._handed_out(self._batches())

    def _handed_out(self, iterator: AsyncGenerator[_T, None]) -> AsyncGenerator[_T, None]:
        # Leaving an `async for` early does not close its generator; leaving the `async with` does, so
        # a round's transaction and connection end with the subscription.
        self._iterators.append(iterator)
        return iterator

    async def _events(self) -> AsyncGenerator[RecordedEvent, None]:
        async with contextlib.aclosing(self._rounds()) as rounds:
            async for batch in rounds:
                for event in batch:
                    self._last = event
                    yield event

    async def _batches(self) -> AsyncGenerator[Sequence[RecordedEvent], None]:
        async with contextlib.aclosing(self._rounds()) as rounds:
            async for batch in rounds:
                self._last = batch[-1]
                yield batch

    async def _rounds(self) -> AsyncGenerator[Sequence[RecordedEvent], None]:
        while True:
            # Cleared before reading: a commit during the round sets it again and triggers another.
            self._wakeup.clear()
            try:
                async with self._pool.acquire() as conn:
                    # From the last event handed out: a round that ended early, or an iteration left
                    # mid-batch and started again, goes on from exactly there.
                    batches = catch_up(
                        conn,
                        self._schema.name,
                        self.checkpoint,
                        prefetch=self._prefetch,
                        upcasters=self._upcasters,
                    )
                    async with contextlib.aclosing(batches):
                        async for batch in batches:
                            yield batch
            except _RESUMABLE as exc:
                log.warning(
                    "subscription round on %s ended (%s); resuming from %s",
                    self._schema.name,
                    exc,
                    self.checkpoint,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)
