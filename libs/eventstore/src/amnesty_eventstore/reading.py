"""Reading streams (one, several at once, or all of a kind), and all events in one total order without gaps.

All events are read only below the horizon: the oldest transaction id still running
(``pg_snapshot_xmin(pg_current_snapshot())``). Every transaction below it has ended, so no event
below it can appear later; events are ordered by (transaction id, position), the checkpoint order.

That order is the order transactions began writing, not the order they committed, and it need not
keep a stream's versions in order: a transaction that took its id early (a consumer's batch locks
its checkpoints first) and appended a stream's version 2 after another transaction, begun later,
committed version 1, sorts before it. Every event comes once and none is skipped; a reader that
folds per stream orders a stream's events by ``stream_version`` (as ``read_stream`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson

from amnesty_eventstore import metrics
from amnesty_eventstore.checkpoints import START, Checkpoint
from amnesty_eventstore.collector import collector_paused
from amnesty_eventstore.connections import DbConnection
from amnesty_eventstore.events import RecordedEvent
from amnesty_eventstore.schemas import store_schema
from amnesty_eventstore.upcasting import Upcasters

HORIZON_SQL = "SELECT pg_snapshot_xmin(pg_current_snapshot())"


def decode_rows(rows: Sequence[Any], upcasters: Upcasters | None = None) -> list[RecordedEvent]:
    """Rows of the read statements as RecordedEvents, payloads older than current upcast.

    The statements select payloads as text, so the store decodes them itself whatever JSON codec a
    caller set on the connection, and the two instants as plain integers (see ``_SELECT_EVENTS``),
    each distinct one made a date or datetime once per batch. The hot loop of catch-up: one
    comprehension, unpacking each row.
    """
    loads = orjson.loads
    new = tuple.__new__  # RecordedEvent's own __new__ is a Python function: one more call per row
    cls = RecordedEvent
    with collector_paused():
        # A batch's events share a few days and, a transaction's events, one recorded_at.
        days = {d: None if d is None else _EPOCH_DAY + timedelta(days=d) for d in {row[7] for row in rows}}
        instants = {us: _EPOCH + timedelta(microseconds=us) for us in {row[8] for row in rows}}
        events = [
            new(cls, (p, t, s, v, i, ty, sv, days[o], instants[r], loads(d), {} if m == "{}" else loads(m)))
            for p, t, s, v, i, ty, sv, o, r, d, m in rows
        ]
    if not upcasters:
        return events
    return [
        _upcast(event, upcasters) if upcasters.needs_upcast(event.type, event.schema_version) else event
        for event in events
    ]


def _upcast(event: RecordedEvent, upcasters: Upcasters) -> RecordedEvent:
    version, data = upcasters.upcast(event.type, event.schema_version, event.data)
    return event._replace(schema_version=version, data=data)


# The columns decode_rows unpacks, in its order: every statement reading events selects them. The day an
# event occurred on and the instant it was recorded come as days and microseconds since the Unix epoch:
# a driver's date and timestamptz decoding costs a quarter of a row's, and a batch has few distinct ones.
_SELECT_EVENTS = (
    "SELECT position, transaction_id, stream_id, stream_version, event_id, type, schema_version, "
    "occurred_on - DATE '1970-01-01', (extract(epoch FROM recorded_at) * 1000000)::bigint, "
    "data::text, metadata::text FROM {events} "
)
_EPOCH_DAY = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _events_sql(schema: str, condition: str) -> str:
    """The events of ``schema`` (as ``decode_rows`` reads them) that meet ``condition`` (WHERE, ORDER)."""
    return store_schema(schema).sql(_SELECT_EVENTS + condition)


@lru_cache(maxsize=64)
def _stream_sql(schema: str) -> str:
    return _events_sql(schema, "WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version")


@lru_cache(maxsize=64)
def _streams_sql(schema: str) -> str:
    return _events_sql(schema, "WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, stream_version")


@lru_cache(maxsize=64)
def _holders_sql(schema: str) -> str:
    return store_schema(schema).sql(
        "SELECT event_id, stream_id FROM {events} WHERE event_id = ANY($1::uuid[])"
    )


@lru_cache(maxsize=64)
def _walk_sql(schema: str) -> str:
    return _events_sql(
        schema,
        "WHERE starts_with(stream_id, $1) AND type = ANY($2::text[]) ORDER BY stream_id, stream_version",
    )


@lru_cache(maxsize=64)
def _page_sql(schema: str) -> str:
    return _events_sql(
        schema,
        "WHERE (transaction_id, position) > ($1::xid8, $2::bigint) "
        "AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) "
        "ORDER BY transaction_id, position LIMIT $3",
    )


@lru_cache(maxsize=64)
def _cursor_sql(schema: str) -> str:
    return _events_sql(
        schema,
        "WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND transaction_id < $3::xid8 "
        "ORDER BY transaction_id, position",
    )


async def read_stream(
    conn: DbConnection,
    schema: str,
    stream_id: str,
    *,
    from_version: int = 1,
    upcasters: Upcasters | None = None,
) -> list[RecordedEvent]:
    """The committed events of one stream from ``from_version`` on, in version order."""
    rows = await conn.fetch(_stream_sql(schema), stream_id, from_version)
    return decode_rows(rows, upcasters)


async def read_streams(
    conn: DbConnection, schema: str, stream_ids: Collection[str], *, upcasters: Upcasters | None = None
) -> dict[str, list[RecordedEvent]]:
    """The committed events of several streams in one round trip, each stream's in version order
    (streams without events are left out)."""
    streams: dict[str, list[RecordedEvent]] = {}
    for event in decode_rows(await conn.fetch(_streams_sql(schema), list(stream_ids)), upcasters):
        streams.setdefault(event.stream_id, []).append(event)
    return streams


async def streams_holding(conn: DbConnection, schema: str, event_ids: Collection[UUID]) -> dict[UUID, str]:
    """The stream each of ``event_ids`` is stored in, for those stored (an event id is unique)."""
    rows = await conn.fetch(_holders_sql(schema), list(event_ids))
    return {row["event_id"]: row["stream_id"] for row in rows}


async def walk_streams(
    conn: DbConnection,
    schema: str,
    prefix: str,
    *,
    types: Collection[str],
    upcasters: Upcasters | None = None,
    prefetch: int = 5000,
) -> AsyncIterator[RecordedEvent]:
    """The events of ``types`` in every stream whose id starts with ``prefix``, stream by stream in
    version order, from one snapshot (a read-only repeatable-read transaction and a server-side cursor:
    memory holds one batch of rows, whatever the size of the store)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.cursor(_walk_sql(schema), prefix, list(types))
        while rows := await cursor.fetch(prefetch):
            for event in decode_rows(rows, upcasters):
                yield event


async def read_all(
    conn: DbConnection,
    schema: str,
    after: Checkpoint = START,
    *,
    limit: int = 1000,
    upcasters: Upcasters | None = None,
) -> list[RecordedEvent]:
    """Up to ``limit`` events after ``after`` in checkpoint order, all below the current horizon.

    Reading on from the last event's checkpoint never skips one: an event that is not there yet will
    come after it.
    """
    rows = await conn.fetch(_page_sql(schema), after.transaction_id, after.position, limit)
    metrics.EVENTS_READ.labels(schema).inc(len(rows))
    return decode_rows(rows, upcasters)


async def catch_up(
    conn: DbConnection,
    schema: str,
    after: Checkpoint = START,
    *,
    prefetch: int = 1000,
    upcasters: Upcasters | None = None,
) -> AsyncGenerator[Sequence[RecordedEvent], None]:
    """Every event after ``after`` up to a horizon frozen at the start, in batches, in checkpoint order.

    One read-only repeatable-read transaction and a server-side cursor: the horizon and the rows come
    from one snapshot, and the client holds one batch at a time. Use it in ``contextlib.aclosing`` (or
    exhaust it) so the transaction ends; the connection must be free of other work meanwhile.

    A thousand rows a batch: the driver's records of a larger one live long enough to cost old-generation
    collections (on the shared 2-core machine 2000 a batch took about a fifth more client CPU per event
    in most runs, 5000 half more), and a fetch is still only a thousandth of a round trip per event.
    """
    events_read = metrics.EVENTS_READ.labels(schema)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        horizon = await conn.fetchval(HORIZON_SQL)
        cursor = await conn.cursor(_cursor_sql(schema), after.transaction_id, after.position, horizon)
        # The next FETCH is sent before this batch is decoded, so the server reads while we decode.
        fetching = asyncio.ensure_future(cursor.fetch(prefetch))
        try:
            while rows := await fetching:
                fetching = asyncio.ensure_future(cursor.fetch(prefetch))
                await asyncio.sleep(0)  # let the task send its FETCH
                events_read.inc(len(rows))
                batch = decode_rows(rows, upcasters)
                rows = []  # the driver's records go now, not while the caller holds the batch
                yield batch
        finally:
            # Left early: let the FETCH in flight finish (cancelling it would disturb the connection).
            with contextlib.suppress(Exception):
                await fetching
