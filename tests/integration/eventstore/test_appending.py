"""Appends against the real PostgreSQL: optimistic concurrency, idempotent retries, group commit."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from amnesty_eventstore import (
    ANY,
    NO_STREAM,
    AppendRequest,
    AppendResult,
    ConcurrencyError,
    EventIdConflict,
    EventStore,
    ExpectedVersion,
    NewEvent,
    Pool,
    append_in,
    append_many_in,
)

pytestmark = pytest.mark.integration

WRITERS, VERSIONS = 16, 8


def event(**data: Any) -> NewEvent:
    return NewEvent(event_id=uuid.uuid4(), type="Probe", data=data)


def split(outcomes: list[AppendResult | BaseException]) -> tuple[list[AppendResult], list[ConcurrencyError]]:
    wins = [o for o in outcomes if isinstance(o, AppendResult)]
    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyError)]
    assert len(wins) + len(conflicts) == len(outcomes), outcomes
    return wins, conflicts


async def test_concurrent_appenders_through_group_commit_exactly_one_wins_per_version(
    store: EventStore,
) -> None:
    for version in range(VERSIONS):
        outcomes = await asyncio.gather(
            *(store.append("contested", [event(writer=w)], version) for w in range(WRITERS)),
            return_exceptions=True,
        )
        wins, conflicts = split(outcomes)
        assert [(w.first_version, w.last_version) for w in wins] == [(version + 1, version + 1)]
        assert {(c.stream_id, c.expected, c.actual) for c in conflicts} == {
            ("contested", version, version + 1)
        }
    stored = await store.read_stream("contested")
    assert [e.stream_version for e in stored] == list(range(1, VERSIONS + 1))


async def test_concurrent_appenders_on_separate_connections_exactly_one_wins_per_version(
    pool: Pool, schema: str
) -> None:
    connections = [await pool.acquire() for _ in range(WRITERS)]
    try:
        for version in range(VERSIONS):
            outcomes = await asyncio.gather(
                *(
                    append_in(c, schema, "contested", [event(writer=i)], version)
                    for i, c in enumerate(connections)
                ),
                return_exceptions=True,
            )
            wins, conflicts = split(outcomes)
            assert len(wins) == 1
            assert wins[0].last_version == version + 1
            assert {c.actual for c in conflicts} == {version + 1}
    finally:
        for conn in connections:
            await pool.release(conn)


async def test_a_retried_append_is_done_once_and_returns_the_original_result(
    store: EventStore, pool: Pool, schema: str
) -> None:
    events = [event(n=1), event(n=2)]
    first = await store.append("person-1", events, NO_STREAM)
    await store.append("person-1", [event(n=3)], 2)
    # The retry's expected version is stale by now: it is recognised by its event ids before that check.
    assert await store.append("person-1", events, NO_STREAM) == first
    async with pool.acquire() as conn:
        assert await append_in(conn, schema, "person-1", events, NO_STREAM) == first
    assert [e.data for e in await store.read_stream("person-1")] == [{"n": 1}, {"n": 2}, {"n": 3}]


@pytest.mark.parametrize("expected", [NO_STREAM, ANY, 1], ids=["no stream", "any", "exact"])
async def test_a_retry_committed_in_the_same_group_as_its_original_is_a_duplicate(
    store: EventStore, pool: Pool, schema: str, expected: ExpectedVersion
) -> None:
    """A retry queued while its original still waits goes in the same group: run in one statement, its
    ids were not stored yet, so it was checked as a new append after the original, a ConcurrencyError
    where it is answered as the done append it is in a transaction of its own."""
    if expected == 1:
        await store.append("person-r", [event(n=0)], NO_STREAM)
    events = [event(n=1), event(n=2)]
    other = [event(n=9)]
    original, retry, unrelated = await asyncio.gather(
        store.append("person-r", events, expected),
        store.append("person-r", events, expected),
        store.append("person-s", other, NO_STREAM),
    )
    assert retry == original
    assert unrelated == AppendResult("person-s", 1, 1)
    first = 2 if expected == 1 else 1
    assert original == AppendResult("person-r", first, first + 1)
    fresh = [event(n=1), event(n=2)]
    async with pool.acquire() as conn:  # the same within one call of the batch API
        again = await append_many_in(
            conn, schema, [AppendRequest("person-t", fresh), AppendRequest("person-t", fresh)]
        )
    assert again == [AppendResult("person-t", 1, 2), AppendResult("person-t", 1, 2)]


async def test_the_same_event_id_with_another_payload_is_an_event_id_conflict(store: EventStore) -> None:
    original = event(n=1)
    await store.append("person-1", [original])
    changed = NewEvent(event_id=original.event_id, type="Probe", data={"n": 2})
    with pytest.raises(EventIdConflict) as raised:
        await store.append("person-1", [changed])
    assert raised.value.event_ids == (original.event_id,)
    with pytest.raises(EventIdConflict):
        await store.append("person-2", [original])  # same content, another stream
    with pytest.raises(EventIdConflict):
        await store.append("person-1", [original, event(n=3)])  # part of it done before
    await store.append("person-3", [event(n=4)])
    with pytest.raises(EventIdConflict) as at_the_streams_version:
        await store.append("person-3", [original], 1)  # an exact version: the single-append path
    assert at_the_streams_version.value.event_ids == (original.event_id,)
    assert [e.data for e in await store.read_stream("person-1")] == [{"n": 1}]
    assert await store.read_stream("person-2") == []
    assert [e.stream_version for e in await store.read_stream("person-3")] == [1]


async def test_expected_version_any_and_no_stream(store: EventStore) -> None:
    assert (await store.append("s", [event()], ANY)).last_version == 1
    with pytest.raises(ConcurrencyError, match="is at version 1, expected no stream"):
        await store.append("s", [event()], NO_STREAM)
    assert (await store.append("s", [event(), event()], ANY)).last_version == 3
    assert (await store.append("t", [event()], NO_STREAM)).last_version == 1


async def test_one_failing_append_does_not_fail_the_others_of_its_group(pool: Pool, schema: str) -> None:
    known = event(n=0)
    async with pool.acquire() as conn:
        await append_in(conn, schema, "a", [known])
        outcomes = await append_many_in(
            conn,
            schema,
            [
                AppendRequest("a", [event(n=1)], 1),
                AppendRequest("a", [event(n=2)], 1),  # stale: the previous one moved the stream
                AppendRequest("b", [NewEvent(known.event_id, "Probe", {"n": 9})]),
                AppendRequest("a", [event(n=3), event(n=4)], 2),
                AppendRequest("c", [event(n=5)], NO_STREAM),
            ],
        )
    assert outcomes[0] == AppendResult("a", 2, 2)
    assert isinstance(outcomes[1], ConcurrencyError)
    assert (outcomes[1].expected, outcomes[1].actual) == (1, 2)
    assert isinstance(outcomes[2], EventIdConflict)
    assert outcomes[3] == AppendResult("a", 3, 4)
    assert outcomes[4] == AppendResult("c", 1, 1)


async def test_a_group_whose_statement_fails_is_retried_one_by_one(pool: Pool, schema: str) -> None:
    # An append the store refuses before sending (a payload holding U+0000) fails its group's
    # statement as a whole; each append is then retried alone, so only that one fails. (Two appends
    # with the same new event id in one group go in two statements and fail nothing: the second is an
    # event id conflict, in the group and alone alike.)
    shared = event(n=1)
    async with EventStore(pool, schema) as store, pool.acquire() as blocker:
        await store.append("blocked", [event()])
        async with blocker.transaction():
            # One writer's group waits on this row lock; the rest queue meanwhile and go as one group
            # (in the other writer: light work is not split).
            await blocker.execute(
                f"SELECT 1 FROM \"{schema}\".streams WHERE stream_id = 'blocked' FOR UPDATE"
            )
            first = asyncio.ensure_future(store.append("blocked", [event()]))
            await asyncio.sleep(0.2)
            rest = asyncio.gather(
                *(store.append(f"s-{i}", [event(n=i)]) for i in range(5)),
                store.append("x", [shared]),
                store.append("y", [shared]),
                store.append("z", [event(text="\u0000")]),
                return_exceptions=True,
            )
            await asyncio.sleep(0.2)
        await first
        outcomes = await rest
    assert [type(o) for o in outcomes] == [AppendResult] * 6 + [EventIdConflict, ValueError]
    group = {"name": f"eventstore-{schema}"}
    assert REGISTRY.get_sample_value("amnesty_group_commit_fallbacks_total", group) == 1
    assert REGISTRY.get_sample_value("amnesty_group_commit_callers_count", group) == 3


async def test_heavy_appends_in_groups_side_by_side_keep_each_callers_order_and_failures(
    pool: Pool, schema: str
) -> None:
    # Appends of 300 events from 4 callers: what waits is split between the store's two writers, so
    # two statements run at once. Each caller appends to its own stream at exact versions, so an
    # append out of its caller's order would be a conflict; one caller's clash fails only that caller.
    clash = event(n=-1)
    async with EventStore(pool, schema) as store:
        await store.append("elsewhere", [clash])

        async def caller(c: int) -> list[AppendResult | BaseException]:
            outcomes: list[AppendResult | BaseException] = []
            for n in range(3):
                events = [event(c=c, n=n, i=i) for i in range(300)]
                if c == 3 and n == 1:
                    events[-1] = NewEvent(clash.event_id, "Probe", {"other": "content"})
                try:
                    outcomes.append(
                        await store.append(f"heavy-{c}", events, 300 * n if n < 2 or c != 3 else 300)
                    )
                except EventIdConflict as exc:
                    outcomes.append(exc)
            return outcomes

        results = await asyncio.gather(*(caller(c) for c in range(4)))
        streams = {c: await store.read_stream(f"heavy-{c}") for c in range(4)}
    for c in range(3):
        assert results[c] == [AppendResult(f"heavy-{c}", 300 * n + 1, 300 * n + 300) for n in range(3)]
        assert [(e.data["n"], e.data["i"]) for e in streams[c]] == [
            (n, i) for n in range(3) for i in range(300)
        ]
    assert results[3][0] == AppendResult("heavy-3", 1, 300)
    assert isinstance(results[3][1], EventIdConflict)
    assert results[3][2] == AppendResult("heavy-3", 301, 600)
    assert [e.data["n"] for e in streams[3]] == [0] * 300 + [2] * 300


async def test_a_conflict_leaves_the_callers_transaction_usable(pool: Pool, schema: str) -> None:
    async with pool.acquire() as conn:
        async with conn.transaction():
            await append_in(conn, schema, "s", [event(n=1)], NO_STREAM)
            with pytest.raises(ConcurrencyError):
                await append_in(conn, schema, "s", [event(n=2)], NO_STREAM)
            await append_in(conn, schema, "s", [event(n=3)], 1)
        rows = await conn.fetch(f"SELECT stream_version, data->>'n' FROM \"{schema}\".events ORDER BY 1")
    assert [tuple(r) for r in rows] == [(1, "1"), (2, "3")]


async def test_an_id_raced_in_by_another_transaction_is_not_taken_for_a_recoverable_conflict(
    pool: Pool, schema: str
) -> None:
    """The other transaction's insert is not visible when the append looks its ids up, so the append's
    own insert fails on the key once that one commits: the caller's transaction is aborted, and an
    EventIdConflict (documented as leaving it usable) had the caller carry on and lose its writes."""
    shared = event(n=1)
    async with pool.acquire() as racer, pool.acquire() as conn:
        racing = racer.transaction()
        await racing.start()
        await append_in(racer, schema, "raced-2", [shared], NO_STREAM)
        async with conn.transaction():
            appending = asyncio.ensure_future(append_in(conn, schema, "raced-1", [shared], NO_STREAM))
            await asyncio.sleep(0.3)  # waiting on the racer's uncommitted key
            assert not appending.done()
            await racing.commit()
            with pytest.raises(asyncpg.UniqueViolationError):
                await appending
            with pytest.raises(asyncpg.InFailedSQLTransactionError):
                await conn.fetchval("SELECT 1")


async def test_every_event_of_one_transaction_records_its_transaction_id(pool: Pool, schema: str) -> None:
    async with pool.acquire() as conn:
        async with conn.transaction():
            xid = await conn.fetchval("SELECT pg_current_xact_id()")
            await append_in(conn, schema, "s", [event(), event()])
            await append_in(conn, schema, "t", [event()])
        recorded = await conn.fetch(f'SELECT transaction_id FROM "{schema}".events')
    assert {r[0] for r in recorded} == {xid}


async def test_appending_an_invalid_request_is_refused_before_sending(pool: Pool, schema: str) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(ValueError, match="at least one event"):
            await append_in(conn, schema, "s", [])
        repeated = event()
        with pytest.raises(ValueError, match="repeats an event id"):
            await append_in(conn, schema, "s", [repeated, repeated])
        with pytest.raises(ValueError, match="expected version"):
            await append_in(conn, schema, "s", [event()], -1)
