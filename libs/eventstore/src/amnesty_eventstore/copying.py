"""Large appends by binary COPY: the guarantees of ``append_events``, at COPY's speed.

``append_events`` builds its rows from arrays in plpgsql; for a large append that costs more than the
rows themselves. Here one transaction (a savepoint inside a caller's transaction):

1. locks the stream's row, checks the expected version and moves the version on, in one statement
   (creating the stream when the append expects "any" or "no stream") -- before any position is drawn;
2. COPYs the events with their stream versions (positions, transaction ids and recorded_at come from
   the column defaults, in the records' order; the statement-level ``events_notify`` trigger fires on
   COPY as on INSERT, so subscribers are woken at commit);
3. COPYs the outbox messages of the events that carry a topic: the same value, key and headers bytes
   as the function writes.

Whatever is not a plain success -- the stream not at the expected version, or an event id already
stored (a retry of a done append, or a clash) -- rolls the transaction (savepoint) back and goes to
``append_in``, which tells a retry (its original result) from a ConcurrencyError or an EventIdConflict.
So a COPY append answers exactly as the function would; only its successes are faster. Never
``ON CONFLICT DO NOTHING`` on events.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import asyncpg
import orjson

from amnesty_eventstore import metrics
from amnesty_eventstore.appending import append_in, check_append, encode_expected_version, event_key
from amnesty_eventstore.connections import DbConnection
from amnesty_eventstore.events import ANY, AppendRequest, AppendResult, ExpectedVersion, NewEvent
from amnesty_eventstore.schemas import store_schema

_EVENT_ID_CONSTRAINT = "events_pkey"
_EVENT_COLUMNS = (
    "stream_id",
    "stream_version",
    "event_id",
    "type",
    "schema_version",
    "occurred_on",
    "data",
    "metadata",
)
_OUTBOX_COLUMNS = ("event_id", "topic", "key", "value", "headers")


class _NotPlainError(Exception):
    """The append is not a plain success: roll back and let the function classify it."""


@lru_cache(maxsize=64)
def _move_existing_sql(schema: str) -> str:
    # An exact version: the stream must exist at it. Locks the row, checks and moves in one statement.
    return store_schema(schema).sql(
        "UPDATE {streams} AS s SET version = s.version + $2 "
        "WHERE s.stream_id = $1 AND s.version = $3 RETURNING s.version - $2"
    )


@lru_cache(maxsize=64)
def _create_or_move_sql(schema: str) -> str:
    # "any" (-1) or "no stream" (0): create the stream, or lock it and move it if it may be moved. On a
    # conflict whose WHERE fails the row is locked and nothing is returned.
    return store_schema(schema).sql(
        "INSERT INTO {streams} AS s (stream_id, version) VALUES ($1, $2) "
        "ON CONFLICT (stream_id) DO UPDATE SET version = s.version + $2 "
        "WHERE $3::integer < 0 OR s.version = $3::integer "
        "RETURNING s.version - $2"
    )


def _encode(events: Sequence[NewEvent]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The events' columns after stream_id and stream_version, and the outbox rows (before the lock)."""
    event_rows: list[tuple[object, ...]] = []
    outbox_rows: list[tuple[object, ...]] = []
    for event in events:
        payload = orjson.dumps(event.data)
        event_rows.append(
            (
                event.event_id,
                event.type,
                event.schema_version,
                event.occurred_on,
                payload.decode(),
                orjson.dumps(event.metadata).decode() if event.metadata else "{}",
            )
        )
        if event.topic is not None:
            headers = orjson.dumps(event.headers).decode() if event.headers else "{}"
            outbox_rows.append((event.event_id, event.topic, event_key(event), payload, headers))
    return event_rows, outbox_rows


async def append_copy_in(
    conn: DbConnection,
    schema: str,
    stream_id: str,
    events: Sequence[NewEvent],
    expected_version: ExpectedVersion = ANY,
) -> AppendResult:
    """``append_in`` by COPY, for large appends: the same outcomes, rows, outbox bytes and wake-up.

    On its own it is one transaction; inside a caller's transaction it runs in a savepoint, so a
    conflict or a retry (handled by the function path after rolling the savepoint back) leaves the
    caller's transaction usable.
    """
    check_append(AppendRequest(stream_id, events, expected_version))
    expected = encode_expected_version(expected_version)
    count = len(events)
    names = store_schema(schema)
    encoded, outbox_rows = _encode(events)
    try:
        async with conn.transaction():
            if expected > 0:
                before = await conn.fetchval(_move_existing_sql(schema), stream_id, count, expected)
            else:
                before = await conn.fetchval(_create_or_move_sql(schema), stream_id, count, expected)
            if before is None:
                raise _NotPlainError
            event_rows = [(stream_id, v, *row) for v, row in enumerate(encoded, before + 1)]
            await conn.copy_records_to_table(
                "events", schema_name=names.name, columns=_EVENT_COLUMNS, records=event_rows
            )
            if outbox_rows:
                await conn.copy_records_to_table(
                    "outbox", schema_name=names.name, columns=_OUTBOX_COLUMNS, records=outbox_rows
                )
    except _NotPlainError:
        pass
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != _EVENT_ID_CONSTRAINT:
            raise
    else:
        metrics.APPENDS.labels(schema, "appended").inc()
        metrics.EVENTS_APPENDED.labels(schema).inc(count)
        return AppendResult(stream_id, before + 1, before + count)
    # Rolled back: the function path tells a retry from a conflict (and counts the outcome).
    return await append_in(conn, schema, stream_id, events, expected_version)
