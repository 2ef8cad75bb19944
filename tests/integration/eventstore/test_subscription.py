"""Reading all events in commit order: no event skipped, none twice, replay equal to live.

The trap: a position is drawn at insert but becomes visible at commit, so a transaction that appends
first and commits last leaves a hole that a "position > last seen" reader has already passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from prometheus_client import REGISTRY

from amnesty_eventstore import (
    START,
    EventStore,
    NewEvent,
    Pool,
    RecordedEvent,
    Subscription,
    append_in,
    oldest_transaction_age_seconds,
)
from amnesty_eventstore.horizon import watch_oldest_transaction

pytestmark = pytest.mark.integration

WRITERS, APPENDS_PER_WRITER = 8, 25
# The horizon is the oldest transaction on the whole server: other suites' transactions can hold it.
SETTLE_S = 60.0


def event(**data: object) -> NewEvent:
    return NewEvent(uuid.uuid4(), "Probe", data)


@contextlib.asynccontextmanager
async def consuming(subscription: Subscription, into: list[RecordedEvent]) -> AsyncIterator[None]:
    """Collect the subscription's events in a task, stopped when the block ends (also on failure)."""

    async def collect() -> None:
        async for recorded in subscription:
            into.append(recorded)

    task = asyncio.create_task(collect())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(condition: Callable[[], bool], timeout_s: float = SETTLE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def naive_read(pool: Pool, schema: str, after_position: int) -> list[tuple[int, uuid.UUID]]:
    """The trap: read on from the highest position seen."""
    rows = await pool.fetch(
        f'SELECT position, event_id FROM "{schema}".events WHERE position > $1 ORDER BY position',
        after_position,
    )
    return [(r[0], r[1]) for r in rows]


async def writers(store: EventStore, pool: Pool, schema: str) -> list[uuid.UUID]:
    """Group-committed appends and appends on connections of their own, all at once."""
    ids: list[uuid.UUID] = []

    async def through_store(w: int) -> None:
        for i in range(APPENDS_PER_WRITER):
            e = event(w=w, i=i)
            ids.append(e.event_id)
            await store.append(f"writer-{w}", [e], i)

    async def own_connection(w: int) -> None:
        async with pool.acquire() as conn:
            for i in range(APPENDS_PER_WRITER):
                e = event(w=w, i=i)
                ids.append(e.event_id)
                await append_in(conn, schema, f"connection-{w}", [e], i)

    await asyncio.gather(
        *(through_store(w) for w in range(WRITERS)), *(own_connection(w) for w in range(WRITERS))
    )
    return ids


async def late_commit_scenario(
    store: EventStore, pool: Pool, schema: str, while_open: Callable[[], Awaitable[None]]
) -> tuple[list[uuid.UUID], RecordedEvent]:
    """Append in a transaction, let the writers commit, run ``while_open``, then commit late."""
    late_event = event(late=True)
    async with pool.acquire() as late, late.transaction():
        await append_in(late, schema, "late", [late_event])
        ids = await writers(store, pool, schema)
        await while_open()
    (recorded,) = await store.read_stream("late")
    return [*ids, late_event.event_id], recorded


async def test_a_subscriber_does_not_skip_a_late_commit_that_a_naive_reader_skips(
    store: EventStore, pool: Pool, schema: str
) -> None:
    seen: list[RecordedEvent] = []
    naive_seen: list[tuple[int, uuid.UUID]] = []

    async def while_open() -> None:
        naive_seen.extend(await naive_read(pool, schema, 0))
        await asyncio.sleep(0.5)
        # Everything the writers committed is above the open transaction: not delivered yet.
        assert seen == []

    async with store.subscribe(poll_interval_s=0.2) as subscription, consuming(subscription, seen):
        expected, late = await late_commit_scenario(store, pool, schema, while_open)
        naive_seen.extend(await naive_read(pool, schema, max(p for p, _ in naive_seen)))
        await eventually(lambda: len(seen) >= len(expected))
        await asyncio.sleep(0.5)  # anything delivered twice would arrive now

    # The trap, shown: the naive reader passed the late event's position before it was visible.
    assert late.position < max(p for p, _ in naive_seen)
    assert late.event_id not in {i for _, i in naive_seen}
    assert len(naive_seen) == len(expected) - 1
    # The subscriber: every event exactly once, in commit order, each stream in version order.
    assert sorted(str(e.event_id) for e in seen) == sorted(str(i) for i in expected)
    checkpoints = [e.checkpoint for e in seen]
    assert checkpoints == sorted(set(checkpoints))
    assert seen[0].event_id == late.event_id  # its transaction id is the lowest: it began first
    for stream in {e.stream_id for e in seen}:
        assert [e.stream_version for e in seen if e.stream_id == stream] == sorted(
            e.stream_version for e in seen if e.stream_id == stream
        )


async def test_a_replay_from_the_start_equals_what_the_live_subscription_saw(
    store: EventStore, pool: Pool, schema: str
) -> None:
    live: list[RecordedEvent] = []
    await store.append("before", [event(n=i) for i in range(10)])

    async def nothing() -> None:
        return None

    async with store.subscribe(poll_interval_s=0.2) as subscription, consuming(subscription, live):
        expected, _ = await late_commit_scenario(store, pool, schema, nothing)
        await eventually(lambda: len(live) >= len(expected) + 10)

    replayed: list[RecordedEvent] = []
    async with store.subscribe(START, prefetch=7) as replay:
        async for batch in replay.batches():
            replayed.extend(batch)
            if len(replayed) >= len(live):
                break
    paged: list[RecordedEvent] = []
    while page := await store.read_all(paged[-1].checkpoint if paged else START, limit=13):
        paged.extend(page)
    assert replayed == live
    assert paged == live


async def test_a_subscription_resumes_after_its_checkpoint(store: EventStore) -> None:
    await store.append("s", [event(n=i) for i in range(5)])
    async with store.subscribe() as first:
        async for recorded in first:
            if recorded.data == {"n": 1}:
                break
        # Iterating again goes on after the last event handed out, not after the last batch read.
        async for recorded in first:
            assert recorded.data == {"n": 2}
            break
        checkpoint = first.checkpoint
    await store.append("s", [event(n=5)])
    rest: list[RecordedEvent] = []
    async with store.subscribe(checkpoint) as second:
        async for recorded in second:
            rest.append(recorded)
            if len(rest) == 3:
                break
    assert [e.data["n"] for e in rest] == [3, 4, 5]


async def test_reading_one_stream_from_a_version(store: EventStore) -> None:
    await store.append("s", [event(n=i) for i in range(1, 6)])
    await store.append("other", [event(n=0)])
    tail = await store.read_stream("s", from_version=4)
    assert [(e.stream_version, e.data["n"]) for e in tail] == [(4, 4), (5, 5)]


async def test_the_oldest_open_transaction_is_measured(store: EventStore, pool: Pool, schema: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await append_in(conn, schema, "s", [event()])  # now it holds a transaction id
        await asyncio.sleep(1.1)
        assert await store.oldest_transaction_age_seconds() >= 1.0
        watcher = asyncio.create_task(watch_oldest_transaction(pool, interval_s=0.05))
        await asyncio.sleep(0.2)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        assert (REGISTRY.get_sample_value("amnesty_eventstore_oldest_xact_seconds") or 0.0) >= 1.0
    async with pool.acquire() as conn:
        # The held transaction has ended: the oldest one now is younger than it had become.
        assert await oldest_transaction_age_seconds(conn) < 1.0


async def test_the_pools_sessions_end_long_statements_and_forgotten_transactions(pool: Pool) -> None:
    async with pool.acquire() as conn:
        assert await conn.fetchval("SHOW statement_timeout") == "30s"
        assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "1min"
