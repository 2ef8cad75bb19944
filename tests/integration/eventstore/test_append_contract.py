"""The contract every append path of the event store keeps, one test suite for all of them.

The paths: ``append_in`` (the ``append_events_packed`` function, one statement), ``append_many_in``
(several appends in that one statement, as a consumer's batch does), ``EventStore.append`` (queued for
the group commit) and the previous release's statement, ``append_events`` with an array of payloads
(migration 0009 makes it a wrapper of the packed function, for a process of that release during an
upgrade). Whatever the path: an append at the expected
version writes its events in order with their outbox messages; a wrong version is a ConcurrencyError
that writes nothing, checked before a position is drawn; a retry of a done append returns its original
result and writes nothing more; an event id stored with other content is an EventIdConflict; a failed
append leaves the caller's transaction usable.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

import pytest

from amnesty_eventstore import (
    NO_STREAM,
    AppendRequest,
    AppendResult,
    ConcurrencyError,
    DbConnection,
    EventIdConflict,
    EventStore,
    ExpectedVersion,
    NewEvent,
    Pool,
    append_in,
    append_many_in,
)
from amnesty_eventstore.appending import decode_outcomes, encode_appends
from amnesty_eventstore.schemas import store_schema

pytestmark = pytest.mark.integration

TOPIC = "amnesty.cases.v1"

Append = Callable[[DbConnection, str, str, Sequence[NewEvent], ExpectedVersion], Awaitable[AppendResult]]


async def _many(
    conn: DbConnection, schema: str, stream: str, events: Sequence[NewEvent], expected: ExpectedVersion
) -> AppendResult:
    # Beside another append in the same statement, so the path's per-append bookkeeping is exercised.
    other = AppendRequest(f"other-{uuid.uuid4()}", [NewEvent(uuid.uuid4(), "Noise", {})])
    outcome, _ = await append_many_in(conn, schema, [AppendRequest(stream, events, expected), other])
    if isinstance(outcome, AppendResult):
        return outcome
    raise outcome


async def _previous_statement(
    conn: DbConnection, schema: str, stream: str, events: Sequence[NewEvent], expected: ExpectedVersion
) -> AppendResult:
    request = AppendRequest(stream, events, expected)
    encoded = encode_appends([request])
    rows = await conn.fetch(
        store_schema(schema).sql(
            "SELECT outcome, first_version, last_version, actual_version, conflicting_ids "
            "FROM {append_events}($1::text[], $2::int[], $3::int[], $4::int[], $5::uuid[], $6::text[], "
            "$7::int[], $8::date[], $9::bytea[], $10::text[], $11::text[], $12::bytea[], $13::text[])"
        ),
        encoded.stream_ids,
        encoded.expected_versions,
        encoded.event_counts,
        encoded.append_of,
        encoded.event_ids,
        encoded.types,
        encoded.schema_versions,
        encoded.occurred_ons,
        encoded.payloads,
        encoded.metadatas,
        encoded.topics,
        encoded.keys,
        encoded.headers,
    )
    (outcome,) = decode_outcomes([request], rows)
    if isinstance(outcome, AppendResult):
        return outcome
    raise outcome


def _group_commit(store: EventStore) -> Append:
    async def append(
        _conn: DbConnection, _schema: str, stream: str, events: Sequence[NewEvent], expected: ExpectedVersion
    ) -> AppendResult:
        return await store.append(stream, events, expected)

    return append


PATHS = ("function", "many", "group-commit", "previous-statement")


@pytest.fixture(params=PATHS)
def append(request: pytest.FixtureRequest, store: EventStore) -> Append:
    paths: dict[str, Append] = {
        "function": append_in,
        "many": _many,
        "group-commit": _group_commit(store),
        "previous-statement": _previous_statement,
    }
    return paths[request.param]


def _events(n: int) -> list[NewEvent]:
    return [
        NewEvent(uuid.uuid4(), "CaseOpened", {"n": i, "text": "Zoë ✓"}, topic=TOPIC, key=f"p-{i}")
        for i in range(n)
    ]


async def _stored(pool: Pool, schema: str, stream: str) -> list[tuple[int, str]]:
    rows = await pool.fetch(
        f"SELECT stream_version, data->>'n' AS n FROM \"{schema}\".events WHERE stream_id = $1 "
        "ORDER BY stream_version",
        stream,
    )
    return [(r["stream_version"], r["n"]) for r in rows]


async def _outbox(pool: Pool, schema: str) -> int:
    return int(await pool.fetchval(f'SELECT count(*) FROM "{schema}".outbox WHERE topic = $1', TOPIC))


async def test_an_append_at_its_version_writes_its_events_in_order_with_their_outbox(
    append: Append, pool: Pool, schema: str
) -> None:
    async with pool.acquire() as conn:
        first = await append(conn, schema, "s", _events(3), NO_STREAM)
        second = await append(conn, schema, "s", _events(2), 3)
    assert (first.first_version, first.last_version, second.last_version) == (1, 3, 5)
    assert await _stored(pool, schema, "s") == [(1, "0"), (2, "1"), (3, "2"), (4, "0"), (5, "1")]
    assert await _outbox(pool, schema) == 5


async def test_a_wrong_version_is_a_conflict_that_writes_nothing(
    append: Append, pool: Pool, schema: str
) -> None:
    async with pool.acquire() as conn:
        await append(conn, schema, "s", _events(2), NO_STREAM)
        with pytest.raises(ConcurrencyError) as conflict:
            await append(conn, schema, "s", _events(4), 1)
    assert (conflict.value.expected, conflict.value.actual) == (1, 2)
    assert len(await _stored(pool, schema, "s")) == 2
    assert await _outbox(pool, schema) == 2
    async with pool.acquire() as conn:
        await append(conn, schema, "s", _events(1), 2)
    # Checked before any position was drawn: identity values are never reused, so one drawn by the
    # refused append would leave a gap.
    span = await pool.fetchrow(f'SELECT min(position), max(position), count(*) FROM "{schema}".events')
    assert span is not None
    low, high, count = span
    assert high - low + 1 == count


async def test_a_retried_append_returns_its_original_result_and_writes_nothing_more(
    append: Append, pool: Pool, schema: str
) -> None:
    events = _events(3)
    async with pool.acquire() as conn:
        done = await append(conn, schema, "s", events, NO_STREAM)
        again = await append(conn, schema, "s", events, NO_STREAM)
    assert again == done
    assert len(await _stored(pool, schema, "s")) == 3
    assert await _outbox(pool, schema) == 3


async def test_an_event_id_stored_with_other_content_is_an_event_id_conflict(
    append: Append, pool: Pool, schema: str
) -> None:
    (event,) = _events(1)
    async with pool.acquire() as conn:
        await append(conn, schema, "s", [event], NO_STREAM)
        changed = NewEvent(event.event_id, event.type, {"n": 99}, topic=TOPIC, key="p-0")
        with pytest.raises(EventIdConflict):
            await append(conn, schema, "t", [changed], NO_STREAM)
    assert await _stored(pool, schema, "t") == []


async def test_a_failed_append_leaves_the_callers_transaction_usable(
    append: Append, pool: Pool, schema: str, request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.params["append"] == "group-commit":
        pytest.skip("the group commit runs its own transactions, never the caller's")
    async with pool.acquire() as conn, conn.transaction():
        await append(conn, schema, "s", _events(1), NO_STREAM)
        with pytest.raises(ConcurrencyError):
            await append(conn, schema, "s", _events(1), 5)
        await append(conn, schema, "s", _events(1), 1)
    assert len(await _stored(pool, schema, "s")) == 2
