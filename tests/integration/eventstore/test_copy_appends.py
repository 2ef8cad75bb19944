"""Large appends by COPY keep every guarantee of the function path (see amnesty_eventstore.copying)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import orjson
import pytest

from amnesty_eventstore import (
    ANY,
    NO_STREAM,
    START,
    AppendResult,
    ConcurrencyError,
    EventIdConflict,
    EventStore,
    NewEvent,
    Pool,
    RecordedEvent,
    append_copy_in,
    append_in,
    copying,
    group_commit,
)

from .test_subscription import consuming, eventually

pytestmark = pytest.mark.integration

TOPIC = "amnesty.cases.v1"
LARGE = 300  # above the store's direct_events (256): these skip the group-commit queue


def varied(n: int) -> NewEvent:
    """Every column the append writes, with and without its optional parts."""
    data = {"n": n, "name": "Zoë ✓", "nested": {"list": [1, 2.5, None, True]}}
    match n % 5:
        case 0:
            return NewEvent(uuid.uuid4(), "CaseOpened", data, topic=TOPIC, key=f"person-{n}")
        case 1:
            return NewEvent(
                uuid.uuid4(), "CaseNoted", data, topic=TOPIC, key=b"\x00raw", headers={"content-type": "json"}
            )
        case 2:
            return NewEvent(uuid.uuid4(), "CaseMoved", data, topic=TOPIC)
        case 3:
            return NewEvent(
                uuid.uuid4(),
                "CaseDated",
                data,
                schema_version=2,
                occurred_on=date(2024, 2, 29),
                metadata={"trace": "abc"},
            )
        case _:
            return NewEvent(uuid.uuid4(), "Internal", data)


def batch(count: int = LARGE) -> list[NewEvent]:
    return [varied(n) for n in range(count)]


async def stored(pool: Pool, schema: str, stream_id: str) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(
        f"SELECT stream_version, type, schema_version, occurred_on, data::text, metadata::text, "
        f'o.topic, o.key, o.value, o.headers::text FROM "{schema}".events e '
        f'LEFT JOIN "{schema}".outbox o USING (event_id) WHERE stream_id = $1 ORDER BY position',
        stream_id,
    )
    return [tuple(r) for r in rows]


async def counts(pool: Pool, schema: str) -> tuple[int, int, int]:
    row = await pool.fetchrow(
        f'SELECT (SELECT count(*) FROM "{schema}".events), (SELECT count(*) FROM "{schema}".outbox), '
        f'(SELECT coalesce(max(position), 0) FROM "{schema}".events)'
    )
    assert row is not None
    return row[0], row[1], row[2]


async def test_a_copy_append_writes_the_rows_and_outbox_bytes_of_the_function_path(
    pool: Pool, schema: str
) -> None:
    events = batch()
    twins = [NewEvent(uuid.uuid4(), e.type, e.data, e.schema_version, e.occurred_on, e.metadata,
                      e.topic, e.key, e.headers) for e in events]  # fmt: skip
    async with pool.acquire() as conn:
        by_function = await append_in(conn, schema, "by-function", events, NO_STREAM)
        by_copy = await append_copy_in(conn, schema, "by-copy", twins, NO_STREAM)
    assert (by_copy.first_version, by_copy.last_version) == (
        by_function.first_version,
        by_function.last_version,
    )
    assert by_copy == AppendResult("by-copy", 1, LARGE)
    function_rows, copy_rows = (
        await stored(pool, schema, "by-function"),
        await stored(pool, schema, "by-copy"),
    )
    assert copy_rows == function_rows
    assert [r[0] for r in copy_rows] == list(range(1, LARGE + 1))  # positions follow stream versions
    # Kafka consumers see the payload's JSON bytes, whichever path wrote it.
    assert [r[8] for r in copy_rows if r[6]] == [orjson.dumps(e.data) for e in twins if e.topic]
    assert (
        await pool.fetchval(f'SELECT version FROM "{schema}".streams WHERE stream_id = $1', "by-copy")
        == LARGE
    )
    # Appending on: the version moves, and an exact expected version is honoured.
    async with pool.acquire() as conn:
        more = await append_copy_in(conn, schema, "by-copy", batch(), LARGE)
    assert more == AppendResult("by-copy", LARGE + 1, 2 * LARGE)


async def test_a_copy_append_at_a_wrong_version_raises_before_drawing_a_position(
    pool: Pool, schema: str
) -> None:
    async with pool.acquire() as conn:
        await append_copy_in(conn, schema, "s", batch(), NO_STREAM)
        before = await counts(pool, schema)
        with pytest.raises(ConcurrencyError) as wrong:
            await append_copy_in(conn, schema, "s", batch(), 7)
        assert (wrong.value.stream_id, wrong.value.expected, wrong.value.actual) == ("s", 7, LARGE)
        with pytest.raises(ConcurrencyError) as exists:
            await append_copy_in(conn, schema, "s", batch(), NO_STREAM)
        assert exists.value.actual == LARGE
        with pytest.raises(ConcurrencyError) as missing:
            await append_copy_in(conn, schema, "missing", batch(), 3)
        assert missing.value.actual == 0
        assert await counts(pool, schema) == before
        # No position was drawn by the failed appends: the next one goes on without a gap.
        await append_copy_in(conn, schema, "s", batch(), LARGE)
    events, _, last_position = await counts(pool, schema)
    assert (events, last_position) == (2 * LARGE, 2 * LARGE)
    assert await pool.fetchval(f'SELECT count(*) FROM "{schema}".streams') == 1


@pytest.mark.parametrize("expected", [ANY, NO_STREAM, 0])
async def test_a_retried_copy_append_is_done_once_and_returns_the_original_result(
    store: EventStore, expected: Any
) -> None:
    events = batch()
    first = await store.append("s", events, expected)
    before = await counts(store.pool, store.schema)
    assert await store.append("s", events, expected) == first
    assert await store.append("s", events, ANY) == first
    assert await counts(store.pool, store.schema) == before


async def test_an_event_id_with_other_content_is_an_event_id_conflict(store: EventStore) -> None:
    events = batch()
    await store.append("s", events)
    before = await counts(store.pool, store.schema)
    changed = [*events[:-1], NewEvent(events[-1].event_id, events[-1].type, {"other": True})]
    with pytest.raises(EventIdConflict) as conflict:
        await store.append("s", changed)
    # As the function path answers: the append's ids that are stored, the changed one among them.
    assert set(conflict.value.event_ids) == {e.event_id for e in events}
    # The same id in another stream clashes too.
    with pytest.raises(EventIdConflict):
        await store.append("t", [*batch(), events[0]], NO_STREAM)
    assert await counts(store.pool, store.schema) == before


async def test_the_store_sends_large_appends_by_copy(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = copying.append_copy_in

    async def spy(*args: Any) -> AppendResult:
        calls.append(len(args[3]))
        return await original(*args)

    monkeypatch.setattr(group_commit, "append_copy_in", spy)
    await store.append("large", batch())
    await store.append("small", batch(3))
    assert calls == [LARGE]


async def test_a_copy_append_wakes_a_subscription(store: EventStore) -> None:
    seen: list[RecordedEvent] = []
    # A poll far longer than the test's patience: only the NOTIFY can wake the subscriber in time.
    async with store.subscribe(poll_interval_s=300.0) as subscription, consuming(subscription, seen):
        await store.append("warm-up", batch(1))
        await eventually(lambda: len(seen) == 1, timeout_s=10.0)
        await asyncio.sleep(0.2)  # the subscriber is waiting now
        await store.append("large", batch())
        await eventually(lambda: len(seen) == 1 + LARGE, timeout_s=10.0)
    assert [e.stream_version for e in seen[1:]] == list(range(1, LARGE + 1))


async def test_copy_appends_record_their_transaction_and_read_gap_free(
    store: EventStore, pool: Pool, schema: str
) -> None:
    async with pool.acquire() as conn:
        async with conn.transaction():
            xid = await conn.fetchval("SELECT pg_current_xact_id()")
            await append_copy_in(conn, schema, "a", batch())
            await append_in(conn, schema, "b", batch(2))
            await append_copy_in(conn, schema, "c", batch(), NO_STREAM)
        rows = await conn.fetch(f'SELECT DISTINCT transaction_id FROM "{schema}".events')
    assert [r[0] for r in rows] == [xid]
    await asyncio.gather(*(store.append(f"parallel-{i}", batch(), NO_STREAM) for i in range(4)))
    everything: list[RecordedEvent] = []
    checkpoint = START
    while page := await store.read_all(checkpoint, limit=500):
        everything.extend(page)
        checkpoint = page[-1].checkpoint
    assert len(everything) == 6 * LARGE + 2
    assert len({e.event_id for e in everything}) == len(everything)
    for stream in {e.stream_id for e in everything}:
        versions = [e.stream_version for e in everything if e.stream_id == stream]
        assert versions == list(range(1, len(versions) + 1))


async def test_a_failed_copy_append_leaves_the_callers_transaction_usable(pool: Pool, schema: str) -> None:
    events = batch()
    async with pool.acquire() as conn:
        await append_copy_in(conn, schema, "s", events)
        async with conn.transaction():
            with pytest.raises(ConcurrencyError):
                await append_copy_in(conn, schema, "s", batch(), 1)
            # A retry (its COPY meets the stored ids, rolls back to its savepoint) answers the original.
            assert await append_copy_in(conn, schema, "s", events, ANY) == AppendResult("s", 1, LARGE)
            await append_copy_in(conn, schema, "s", batch(), LARGE)
    assert (await counts(pool, schema))[0] == 2 * LARGE
