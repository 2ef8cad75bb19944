"""Group commit: concurrent appends share one transaction and one round trip.

A commit costs a WAL flush and a round trip whatever it carries, so one transaction per append tops
out at a few thousand per second. Callers queue their appends; a writer task takes everything queued
for it when it is free (no timer: an idle store commits a lone append at once) and appends the group
with one ``append_events`` call. Each caller gets its own outcome. When the group's statement fails
as a whole (e.g. two appends race with the same new event id, or the connection drops), its appends
are retried one by one, so that only a faulty one fails and a transient failure costs a retry; a
retry of an append that did commit is recognised by its event ids.

Each stream belongs to one writer (by hash): writers' groups never wait for each other's stream locks,
one stream's appends commit in the order they were queued, and with several writers the groups run
on as many server backends (cores) at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from amnesty_eventstore import metrics
from amnesty_eventstore.appending import AppendOutcome, append_in, append_many_in
from amnesty_eventstore.connections import Pool
from amnesty_eventstore.copying import append_copy_in
from amnesty_eventstore.events import AppendRequest, AppendResult


@dataclass(frozen=True, slots=True)
class _Pending:
    request: AppendRequest
    result: asyncio.Future[AppendResult]


class GroupCommitter:
    """Writer tasks over a pool that commit queued appends in groups.

    ``writers`` groups can be in flight at once (one connection each), each writer serving the
    streams that hash to it. One writer is the default: with callers that each wait for their result,
    more writers split the same callers into smaller groups, and a group's cost is mostly fixed (on
    the 2-core benchmark machine one writer commits 16 callers' appends fastest). ``max_group_events``
    bounds one group's size. An append of ``direct_events`` or more skips the queue and commits on a
    connection of its own by binary COPY (see copying): it amortises its commit alone, and large
    appends then run side by side.
    """

    def __init__(
        self,
        pool: Pool,
        schema: str,
        *,
        writers: int = 1,
        max_group_events: int = 5000,
        direct_events: int = 256,
    ) -> None:
        if writers < 1:
            raise ValueError("at least one writer")
        self._pool = pool
        self._schema = schema
        self._writers = writers
        self._max_group_events = max_group_events
        self._direct_events = direct_events
        self._queues: list[asyncio.Queue[_Pending]] = [asyncio.Queue() for _ in range(writers)]
        self._tasks: list[asyncio.Task[None]] = []
        self._group_appends = metrics.GROUP_APPENDS.labels(schema)
        self._fallbacks = metrics.GROUP_FALLBACKS.labels(schema)

    def start(self) -> None:
        """Start the writer tasks (in the running event loop)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._write(queue), name=f"eventstore-writer-{self._schema}-{i}")
                for i, queue in enumerate(self._queues)
            ]

    async def close(self) -> None:
        """Commit what is queued, then stop the writers."""
        for queue in self._queues:
            await queue.join()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def append(self, request: AppendRequest) -> AppendResult:
        """Queue ``request`` for the next group; its result, or its ConcurrencyError / EventIdConflict."""
        if not self._tasks:
            raise RuntimeError("the group committer is not started")
        if len(request.events) >= self._direct_events:
            async with self._pool.acquire() as conn:
                return await append_copy_in(
                    conn, self._schema, request.stream_id, request.events, request.expected_version
                )
        pending = _Pending(request, asyncio.get_running_loop().create_future())
        self._queues[hash(request.stream_id) % self._writers].put_nowait(pending)
        return await pending.result

    async def _write(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            group = [await queue.get()]
            # One turn of the event loop (not a timer): callers woken by the previous commit re-queue
            # their next appends now, and join this group instead of trickling into groups of one.
            await asyncio.sleep(0)
            events = len(group[0].request.events)
            while not queue.empty() and events < self._max_group_events:
                pending = queue.get_nowait()
                group.append(pending)
                events += len(pending.request.events)
            try:
                # A caller that gave up before its group went is left out; once sent, it commits anyway.
                live = [p for p in group if not p.result.cancelled()]
                if live:
                    await self._commit(live)
            finally:
                for _ in group:
                    queue.task_done()

    async def _commit(self, group: Sequence[_Pending]) -> None:
        self._group_appends.observe(len(group))
        try:
            async with self._pool.acquire() as conn:
                outcomes = await append_many_in(conn, self._schema, [p.request for p in group])
        except Exception:  # handed to the callers by the one-by-one retry
            self._fallbacks.inc()
            await self._one_by_one(group)
            return
        for pending, outcome in zip(group, outcomes, strict=True):
            _settle(pending, outcome)

    async def _one_by_one(self, group: Sequence[_Pending]) -> None:
        for pending in group:
            request = pending.request
            try:
                async with self._pool.acquire() as conn:
                    result: AppendOutcome | Exception = await append_in(
                        conn, self._schema, request.stream_id, request.events, request.expected_version
                    )
            except Exception as exc:  # handed to this append's caller
                result = exc
            _settle(pending, result)


def _settle(pending: _Pending, outcome: AppendOutcome | BaseException) -> None:
    if pending.result.done():
        return
    if isinstance(outcome, AppendResult):
        pending.result.set_result(outcome)
    else:
        pending.result.set_exception(outcome)
