"""Group commit: concurrent callers' work shares one transaction and one round trip.

A commit costs a WAL flush and a round trip whatever it carries, so one transaction per caller tops out
at a few thousand per second. Callers queue their items; a dispatcher takes everything queued when a
writer connection is free (no timer: an idle committer commits a lone caller at once) and runs the work
over all of them in one transaction. Each caller gets the outcomes of its own items.

The work is whatever a caller would have done in a transaction of its own, done for many callers at
once: the event store's appends (``append_many_in``), intake's admission of HTTP submissions. When the
group's transaction fails as a whole (two callers race with the same new event id, a connection drops),
each caller's items are retried in a transaction of their own, so that only a faulty caller fails and a
transient failure costs a retry.

Groups in flight (``writers``): with one, a group's round trip and WAL flush leave the client idle and
the next group waiting; with two, the next group is encoded and executed while the previous one
commits. What is queued when several writers are free is split between them, so that groups alternate
rather than go one at a time. A caller's own work keeps its order: ``submit`` returns once it committed.
Work that callers queue concurrently may commit in any order across groups in flight, as it would in
transactions of their own; the event store's expected versions and row locks order one stream's appends.

A writer keeps its connection while work is waiting: handing it back and acquiring one again would
stand between every two groups.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from amnesty_eventstore import metrics
from amnesty_eventstore.connections import DbConnection, Pool, PooledConnection

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

Work = Callable[[DbConnection, Sequence[Item]], Awaitable[Sequence[Outcome | Exception]]]
"""Runs inside the group's transaction; one outcome per item, in order. An item's outcome may be an
exception of its own (a ConcurrencyError), raised to its caller, that leaves the transaction usable."""


class GroupCommitClosedError(RuntimeError):
    """Work submitted to a group commit that is not started, or is closing."""


@dataclass(frozen=True, slots=True)
class _Pending(Generic[Item, Outcome]):
    items: Sequence[Item]
    weight: int
    result: asyncio.Future[list[Outcome | Exception]]


class GroupCommit(Generic[Item, Outcome]):
    """Writer connections over a pool that run queued callers' work in shared transactions.

    ``async with GroupCommit(pool, work, name="intake-http") as group: await group.submit(items)``.
    ``max_group_items`` bounds one transaction's size (``weight`` says what an item counts for, one by
    default); ``writers`` is how many groups may be in flight at once, and what is queued is split
    between free writers only into groups above ``split_above``; ``transactional=False`` runs a work
    that is one statement without BEGIN/COMMIT around it.
    """

    def __init__(
        self,
        pool: Pool,
        work: Work[Item, Outcome],
        *,
        name: str,
        max_group_items: int = 5000,
        writers: int = 1,
        split_above: int = 500,
        weight: Callable[[Item], int] | None = None,
        transactional: bool = True,
    ) -> None:
        if writers < 1:
            raise ValueError(f"a group commit needs at least one writer, got {writers}")
        self._pool = pool
        # A work of one statement is atomic on its own: BEGIN and COMMIT would be two more round trips.
        self._transactional = transactional
        self._work = work
        self._max_group_items = max_group_items
        self._weight = weight
        self._split_above = split_above
        self._free = asyncio.Semaphore(writers)
        self._free_writers = writers  # the semaphore's count, which it does not tell
        self._queued_weight = 0
        self._connections: list[PooledConnection] = []
        self._starting = 0  # groups dispatched that have not taken a connection yet
        self._in_flight: set[asyncio.Task[None]] = set()
        self._queue: asyncio.Queue[_Pending[Item, Outcome]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._callers = metrics.GROUP_CALLERS.labels(name)
        self._fallbacks = metrics.GROUP_FALLBACKS.labels(name)
        self._name = name

    async def __aenter__(self) -> GroupCommit[Item, Outcome]:
        self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def start(self) -> None:
        """Start the dispatcher (in the running event loop)."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._dispatch(), name=f"group-commit-{self._name}")

    async def close(self) -> None:
        """Commit what is queued, then stop the dispatcher and hand back the writers' connections.

        Work submitted once closing has begun is refused: queued after the queue was joined, nobody
        would have run it, and its caller would have waited for good.
        """
        if self._task is None:
            return
        self._closing = True
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        while self._connections:
            await self._pool.release(self._connections.pop())

    async def submit(self, items: Sequence[Item]) -> list[Outcome | Exception]:
        """Queue ``items`` for the next group; their outcomes once it committed (an exception that failed
        this caller's own transaction is raised)."""
        if self._task is None or self._closing:
            raise GroupCommitClosedError(f"the group commit {self._name} is not running")
        weight = len(items) if self._weight is None else sum(self._weight(item) for item in items)
        pending: _Pending[Item, Outcome] = _Pending(items, weight, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(pending)
        self._queued_weight += weight
        return await pending.result

    async def _dispatch(self) -> None:
        while True:
            if self._queue.empty():
                await self._hand_back_idle()
            first = await self._queue.get()
            await self._free.acquire()
            self._free_writers -= 1
            # One turn of the event loop (not a timer): callers woken by a commit queue their next work
            # now, and join this group instead of trickling into groups of one.
            await asyncio.sleep(0)
            self._queued_weight -= first.weight
            group = [first, *self._take(first.weight)]
            self._starting += 1
            task = asyncio.create_task(self._write(group), name=f"group-commit-{self._name}-group")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    def _take(self, size: int) -> list[_Pending[Item, Outcome]]:
        """What else of the queue goes in a group that weighs ``size`` so far: up to the bound, and,
        when other writers are free to take the rest at once, up to this group's share of it.

        Small work is never split: a group's round trip and WAL flush cost the same whatever it
        carries, so two half groups of single-event appends commit fewer per second than one whole.
        Heavy work (appends of a thousand events) is: the server executes the halves side by side.
        """
        free = self._free_writers  # besides this group's
        share = self._max_group_items
        if free:
            waiting = size + self._queued_weight
            share = max(self._split_above, -(-waiting // (free + 1)))
        taken: list[_Pending[Item, Outcome]] = []
        limit = min(share, self._max_group_items)
        while not self._queue.empty() and size < limit:
            pending = self._queue.get_nowait()
            self._queued_weight -= pending.weight
            taken.append(pending)
            size += pending.weight
        return taken

    async def _hand_back_idle(self) -> None:
        """Nothing is queued: hand back the connections kept beyond what the groups just dispatched
        will take. Two writers that finished while work was queued each kept theirs, and one group
        took all the work: the other connection sat out of the pool, idle, until the next group."""
        while len(self._connections) > self._starting:
            await self._pool.release(self._connections.pop())

    async def _write(self, group: Sequence[_Pending[Item, Outcome]]) -> None:
        try:
            # A caller that gave up before its group went is left out; once sent, it commits anyway.
            live = [p for p in group if not p.result.cancelled()]
            if live:
                await self._commit(live)
            else:
                self._starting -= 1
        finally:
            self._free_writers += 1
            self._free.release()
            for _ in group:
                self._queue.task_done()
        if self._queue.empty():  # a connection kept for this group, whose callers all gave up
            await self._hand_back_idle()

    async def _commit(self, group: Sequence[_Pending[Item, Outcome]]) -> None:
        self._callers.observe(len(group))
        conn: PooledConnection | None = None
        try:
            self._starting -= 1
            conn = self._connections.pop() if self._connections else await self._pool.acquire()
            outcomes = await self._run(conn, [item for pending in group for item in pending.items])
        except Exception:  # handed to the callers by the one-by-one retry
            if conn is not None:
                # The connection may be what failed; the pool replaces a broken one, and one that
                # cannot even be handed back is of no more use here.
                with contextlib.suppress(Exception):
                    await self._pool.release(conn)
            self._fallbacks.inc()
            await self._one_by_one(group)
            return
        start = 0
        for pending in group:
            end = start + len(pending.items)
            _settle(pending, outcomes[start:end])
            start = end
        # The settled callers queue their next work in this turn of the loop; keep the connection for it.
        await asyncio.sleep(0)
        if self._queue.empty() or self._task is None:
            await self._pool.release(conn)
        else:
            self._connections.append(conn)

    async def _one_by_one(self, group: Sequence[_Pending[Item, Outcome]]) -> None:
        for pending in group:
            try:
                async with self._pool.acquire() as conn:
                    outcome: list[Outcome | Exception] | BaseException = await self._run(conn, pending.items)
            except Exception as exc:  # handed to this caller
                outcome = exc
            _settle(pending, outcome)

    async def _run(self, conn: DbConnection, items: Sequence[Item]) -> list[Outcome | Exception]:
        if self._transactional:
            async with conn.transaction():
                outcomes = list(await self._work(conn, items))
        else:
            outcomes = list(await self._work(conn, items))
        if len(outcomes) != len(items):
            raise RuntimeError(f"group work gave {len(outcomes)} outcomes for {len(items)} items")
        return outcomes


def _settle(pending: _Pending[Item, Outcome], outcome: list[Outcome | Exception] | BaseException) -> None:
    if pending.result.done():
        return
    if isinstance(outcome, BaseException):
        pending.result.set_exception(outcome)
    else:
        pending.result.set_result(outcome)
