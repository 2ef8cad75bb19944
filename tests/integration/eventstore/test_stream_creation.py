"""Appends that create their stream (migration 0010): the stream's row is written once, by an insert at
its final version, and every outcome is the one the general path gives.

The reference is the function as migration 0009 left it, installed in a schema of its own: the same
groups appended to both schemas must answer the same outcomes and leave the same rows. The races of
0010's header are played out on two connections, the first one's transaction held open.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from amnesty_eventstore import (
    ANY,
    NO_STREAM,
    AppendRequest,
    AppendResult,
    ConcurrencyError,
    DbConnection,
    EventIdConflict,
    NewEvent,
    Pool,
    append_many_in,
)
from amnesty_eventstore.appending import AppendOutcome

from .conftest import schema_before

pytestmark = pytest.mark.integration

TOPIC = "amnesty.cases.v1"


def events(n: int) -> list[NewEvent]:
    return [NewEvent(uuid.uuid4(), "CaseOpened", {"n": i}, topic=TOPIC, key=f"k-{i}") for i in range(n)]


@pytest.fixture
async def before_0010(admin: asyncpg.Connection, pool: Pool, tmp_path: Path) -> AsyncIterator[str]:
    """A schema with the event store's migrations up to 0009: the general path for every append."""
    async with schema_before(admin, pool, tmp_path, "0010") as name:
        yield name


def comparable(outcomes: Sequence[AppendOutcome]) -> list[tuple[Any, ...]]:
    shown: list[tuple[Any, ...]] = []
    for o in outcomes:
        if isinstance(o, AppendResult):
            shown.append(("appended or duplicate", o.stream_id, o.first_version, o.last_version))
        elif isinstance(o, ConcurrencyError):
            shown.append(("conflict", o.stream_id, o.expected, o.actual))
        else:
            shown.append(("event_id_conflict", o.stream_id, sorted(o.event_ids)))
    return shown


async def rows(pool: Pool, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an append writes, in the order it was written (positions and outbox ids are drawn
    per schema, so their order stands for them)."""
    return {
        "events": [
            tuple(r)
            for r in await pool.fetch(
                # As jsonb: the schema before 0010 stores payloads as jsonb, the current one as json.
                f'SELECT stream_id, stream_version, event_id, data::jsonb FROM "{schema}".events '
                "ORDER BY position"
            )
        ],
        "outbox": [
            tuple(r)
            for r in await pool.fetch(
                f'SELECT event_id, topic, key, value FROM "{schema}".outbox ORDER BY id'
            )
        ],
        "streams": [
            tuple(r)
            for r in await pool.fetch(f'SELECT stream_id, version FROM "{schema}".streams ORDER BY stream_id')
        ],
    }


async def test_groups_creating_streams_answer_and_write_as_the_general_path_did(
    pool: Pool, schema: str, before_0010: str
) -> None:
    existing, clash = events(2), events(1)
    retried = [
        AppendRequest("new-a", events(2), NO_STREAM),
        AppendRequest("existing", events(1), 2),
        AppendRequest("new-b", events(1), ANY),
        AppendRequest("new-c", events(3), ANY),
    ]
    groups = [
        [AppendRequest("existing", existing, NO_STREAM), AppendRequest("elsewhere", clash, ANY)],
        # New streams beside an existing one, in an order other than their ids'.
        retried,
        # A retry of a done group, with a new stream beside it.
        [*retried, AppendRequest("new-d", events(1), NO_STREAM)],
        [
            # Beside a new stream: "no stream" for a stream that exists, a new stream named twice, an
            # exact version of a missing stream, "any" for a stream that exists.
            AppendRequest("new-a", events(1), NO_STREAM),
            AppendRequest("twice", events(1), NO_STREAM),
            AppendRequest("new-f", events(2), ANY),
            AppendRequest("twice", events(2), 1),
            AppendRequest("missing", events(1), 3),
            AppendRequest("existing", events(1), ANY),
        ],
        # A known id with other content under a new stream, beside a new stream.
        [
            AppendRequest("new-e", [NewEvent(clash[0].event_id, "CaseOpened", {"other": True})], ANY),
            AppendRequest("new-i", events(2), NO_STREAM),
        ],
        # A partly done retry, and a stream named twice that another append of the group creates.
        [
            AppendRequest("new-g", [*retried[0].events, *events(1)], ANY),
            AppendRequest("new-h", events(1), ANY),
            AppendRequest("new-h", events(1), ANY),
        ],
    ]
    async with pool.acquire() as conn:
        for group in groups:
            now = await append_many_in(conn, schema, group)
            before = await append_many_in(conn, before_0010, group)
            assert comparable(now) == comparable(before)
    assert await rows(pool, schema) == await rows(pool, before_0010)
    # And what they answered, spelled out: the comparison alone would pass if both were wrong.
    assert [type(o) for o in now] == [EventIdConflict, AppendResult, AppendResult]
    async with pool.acquire() as conn:
        again = await append_many_in(conn, schema, [*retried, AppendRequest("new-a", events(1), NO_STREAM)])
    assert again[:4] == [
        AppendResult("new-a", 1, 2),
        AppendResult("existing", 3, 3),
        AppendResult("new-b", 1, 1),
        AppendResult("new-c", 1, 3),
    ]
    assert isinstance(again[4], ConcurrencyError)
    assert (again[4].expected, again[4].actual) == (NO_STREAM, 2)


async def test_a_retry_of_a_committed_group_that_created_streams_is_a_duplicate(
    pool: Pool, schema: str
) -> None:
    group = [AppendRequest("p-1", events(2), NO_STREAM), AppendRequest("p-2", events(1), ANY)]
    async with pool.acquire() as conn:
        done = await append_many_in(conn, schema, group)
        again = await append_many_in(conn, schema, group)
    assert done == again == [AppendResult("p-1", 1, 2), AppendResult("p-2", 1, 1)]
    assert await pool.fetchval(f'SELECT count(*) FROM "{schema}".events') == 3


async def test_no_stream_for_a_stream_that_exists_is_a_conflict_beside_created_ones(
    pool: Pool, schema: str
) -> None:
    async with pool.acquire() as conn:
        await append_many_in(conn, schema, [AppendRequest("p-1", events(3))])
        outcomes = await append_many_in(
            conn,
            schema,
            [AppendRequest("p-2", events(1), NO_STREAM), AppendRequest("p-1", events(1), NO_STREAM)],
        )
    assert outcomes[0] == AppendResult("p-2", 1, 1)
    assert isinstance(outcomes[1], ConcurrencyError)
    assert outcomes[1].actual == 3
    versions = await pool.fetch(f'SELECT stream_id, version FROM "{schema}".streams ORDER BY 1')
    assert [tuple(r) for r in versions] == [("p-1", 3), ("p-2", 1)]


async def written(conn: DbConnection, table: str) -> tuple[int, int]:
    """The rows of ``table`` this backend inserted and updated, as its statistics count them so far."""
    row = await conn.fetchrow(
        "SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE relid = $1::text::regclass", table
    )
    assert row is not None
    return row["n_tup_ins"], row["n_tup_upd"]


async def test_a_created_streams_row_is_written_once(pool: Pool, schema: str) -> None:
    table = f'"{schema}".streams'
    async with pool.acquire() as conn:
        await append_many_in(conn, schema, [AppendRequest("existing", events(1))])
        async with conn.transaction():
            # The backend's pending counts, flushed only between transactions: they may still hold an
            # earlier transaction's, so this one's are the difference.
            inserted_before, updated_before = await written(conn, table)
            outcomes = await append_many_in(
                conn,
                schema,
                [
                    AppendRequest("new-b", events(2), NO_STREAM),
                    AppendRequest("existing", events(1), 1),
                    AppendRequest("new-a", events(1), ANY),
                ],
            )
            inserted, updated = await written(conn, table)
            # Written by this transaction and never since: not locked (a lock sets xmax), not updated.
            untouched = await conn.fetch(
                f"SELECT stream_id, version FROM {table} "
                "WHERE xmin = pg_current_xact_id()::xid AND xmax = '0'::xid ORDER BY stream_id"
            )
    assert outcomes == [
        AppendResult("new-b", 1, 2),
        AppendResult("existing", 2, 2),
        AppendResult("new-a", 1, 1),
    ]
    # Two rows inserted, one updated: the existing stream's, by the general path (which would have
    # updated the created ones too).
    assert (inserted - inserted_before, updated - updated_before) == (2, 1)
    # The existing stream's row was locked, and its new version carries the lock; the created ones
    # are as inserted.
    assert [tuple(r) for r in untouched] == [("new-a", 1), ("new-b", 2)]


async def waiting_on_a_lock(admin: asyncpg.Connection, conn: DbConnection) -> None:
    """Until ``conn``'s statement waits for a lock (another transaction's uncommitted row)."""
    pid = conn.get_server_pid()
    for _ in range(500):
        if await admin.fetchval("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second append never waited for the first")


async def test_a_retry_racing_its_uncommitted_original_waits_and_is_a_duplicate(
    pool: Pool, schema: str, admin: asyncpg.Connection
) -> None:
    group = [AppendRequest("p-2", events(2), ANY), AppendRequest("p-1", events(1), ANY)]
    async with pool.acquire() as first, pool.acquire() as second:
        async with first.transaction():
            original = await append_many_in(first, schema, group)
            # The ids are not visible to the retry yet: it would create the streams again, were it not
            # for the insert waiting on the original's rows.
            retry = asyncio.ensure_future(append_many_in(second, schema, group))
            await waiting_on_a_lock(admin, second)
        assert await retry == original == [AppendResult("p-2", 1, 2), AppendResult("p-1", 1, 1)]
    assert await pool.fetchval(f'SELECT count(*) FROM "{schema}".events') == 3


@pytest.mark.parametrize("expected", [NO_STREAM, ANY], ids=["no-stream", "any"])
async def test_two_appends_creating_one_stream_the_second_waits_and_goes_after(
    pool: Pool, schema: str, admin: asyncpg.Connection, expected: Any
) -> None:
    async with pool.acquire() as first, pool.acquire() as second:
        async with first.transaction():
            created = await append_many_in(first, schema, [AppendRequest("p-1", events(2), expected)])
            later = asyncio.ensure_future(
                append_many_in(
                    second,
                    schema,
                    [AppendRequest("p-1", events(1), expected), AppendRequest("p-3", events(1), expected)],
                )
            )
            await waiting_on_a_lock(admin, second)
        outcomes = await later
    assert created == [AppendResult("p-1", 1, 2)]
    if expected is NO_STREAM:
        assert isinstance(outcomes[0], ConcurrencyError)
        assert outcomes[0].actual == 2
    else:
        assert outcomes[0] == AppendResult("p-1", 3, 3)
    assert outcomes[1] == AppendResult("p-3", 1, 1)
    version = await pool.fetchval(f"SELECT version FROM \"{schema}\".streams WHERE stream_id = 'p-1'")
    assert version == (2 if expected is NO_STREAM else 3)


async def test_a_stream_whose_creator_rolled_back_is_created_by_the_append_that_waited(
    pool: Pool, schema: str, admin: asyncpg.Connection
) -> None:
    async with pool.acquire() as first, pool.acquire() as second:
        tx = first.transaction()
        await tx.start()
        await append_many_in(first, schema, [AppendRequest("p-1", events(2), NO_STREAM)])
        waiting = [AppendRequest("p-1", events(1), NO_STREAM)]
        later = asyncio.ensure_future(append_many_in(second, schema, waiting))
        await waiting_on_a_lock(admin, second)
        await tx.rollback()
        assert await later == [AppendResult("p-1", 1, 1)]


async def test_concurrent_groups_creating_and_extending_streams_keep_versions_whole(
    pool: Pool, schema: str
) -> None:
    # Groups of several connections at once on a few fresh streams per round: some named once (created
    # at their version), some twice (the general path), "no stream" and "any" mixed. Nothing deadlocks,
    # every appended event has the version its outcome says, and every stream's versions are 1..n.
    rng = random.Random(10)
    appended: dict[uuid.UUID, tuple[str, int]] = {}
    outcomes: Counter[str] = Counter()

    async def writer(names: list[str]) -> None:
        group = [
            AppendRequest(rng.choice(names), events(rng.randint(1, 3)), rng.choice([ANY, NO_STREAM]))
            for _ in range(rng.randint(1, 5))
        ]
        async with pool.acquire() as conn:
            for request, outcome in zip(group, await append_many_in(conn, schema, group), strict=True):
                outcomes[type(outcome).__name__] += 1
                if isinstance(outcome, AppendResult):
                    for version, event in enumerate(request.events, outcome.first_version):
                        appended[event.event_id] = (request.stream_id, version)

    for round_ in range(30):
        names = [f"r{round_}-{k}" for k in range(4)]
        await asyncio.gather(*(writer(names) for _ in range(6)))

    stored = await pool.fetch(f'SELECT event_id, stream_id, stream_version FROM "{schema}".events')
    assert {r["event_id"]: (r["stream_id"], r["stream_version"]) for r in stored} == appended
    per_stream = Counter(stream for stream, _ in appended.values())
    versions = await pool.fetch(f'SELECT stream_id, version FROM "{schema}".streams WHERE version > 0')
    assert {r["stream_id"]: r["version"] for r in versions} == per_stream
    assert set(outcomes) <= {"AppendResult", "ConcurrencyError"}
    assert outcomes["AppendResult"] > 0
    assert outcomes["ConcurrencyError"] > 0
