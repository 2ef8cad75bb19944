"""Appending: one statement, one round trip, for any number of appends to any streams.

The statement is the schema's ``append_events_packed`` function (migrations 0001, 0003, 0008, 0010): it
creates new streams at their version or locks the existing ones, recognises retries, checks every expected
version before drawing positions, then writes the events and their outbox messages. Run alone it is its
own transaction; inside a caller's transaction it is part of that one. A version conflict is an outcome,
not an SQL error, so it leaves a caller's transaction usable.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import accumulate
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from amnesty_eventstore import metrics
from amnesty_eventstore.connections import DbConnection
from amnesty_eventstore.errors import ConcurrencyError, EventIdConflict
from amnesty_eventstore.events import (
    ANY,
    NO_STREAM,
    AppendRequest,
    AppendResult,
    ExpectedVersion,
    NewEvent,
    StreamState,
)
from amnesty_eventstore.schemas import store_schema

AppendOutcome = AppendResult | ConcurrencyError | EventIdConflict
"""What became of one append: its result, or why nothing was written."""

EVENT_ID_CONSTRAINT = "events_pkey"

# A JSON escape of U+0000: "\u0000" after an even number of backslashes (after an odd number the
# backslash is itself escaped, and the text is a literal "\u0000", which is fine).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


@dataclass(frozen=True, slots=True)
class EncodedAppends:
    """The arguments of ``append_events_packed``: per-append arrays, then per-event arrays in append order."""

    stream_ids: list[str]
    expected_versions: list[int]
    event_counts: list[int]
    append_of: list[int]
    event_ids: list[UUID]
    types: list[str]
    schema_versions: list[int]
    occurred_ons: list[date | None]
    payloads: list[bytes]
    metadatas: list[str | None]
    topics: list[str | None] | None
    keys: list[bytes | None] | None
    headers: list[str | None] | None

    def arguments(self) -> tuple[object, ...]:
        """The function's arguments: the payloads packed in one bytea, with each one's offset and length
        (see migrations/0008: an array of them would be copied element by element on the server)."""
        lengths = [len(payload) for payload in self.payloads]
        return (
            self.stream_ids,
            self.expected_versions,
            self.event_counts,
            self.append_of,
            self.event_ids,
            self.types,
            self.schema_versions,
            self.occurred_ons,
            b"".join(self.payloads),
            list(accumulate(lengths, initial=0))[:-1],
            lengths,
            self.metadatas,
            self.topics,
            self.keys,
            self.headers,
        )


def encode_expected_version(expected: ExpectedVersion) -> int:
    """-1 for ANY, 0 for NO_STREAM (a stream without events), the version itself otherwise."""
    if expected is ANY:
        return -1
    if expected is NO_STREAM:
        return 0
    if isinstance(expected, StreamState | bool) or expected < 0:
        raise ValueError(f"expected version must be ANY, NO_STREAM or a version >= 0, got {expected!r}")
    return expected


def encode_appends(requests: Sequence[AppendRequest]) -> EncodedAppends:
    """Flatten appends into the function's arrays; refuses what can only be a programming error."""
    if not requests:
        raise ValueError("nothing to append")
    for request in requests:
        check_append(request)
    events = [event for request in requests for event in request.events]
    routed = [event for event in events if event.topic is not None]
    return EncodedAppends(
        stream_ids=[request.stream_id for request in requests],
        expected_versions=[encode_expected_version(request.expected_version) for request in requests],
        event_counts=[len(request.events) for request in requests],
        append_of=[number for number, request in enumerate(requests, 1) for _ in request.events],
        event_ids=[event.event_id for event in events],
        types=[event.type for event in events],
        schema_versions=[event.schema_version for event in events],
        occurred_ons=[event.occurred_on for event in events],
        payloads=_comparable([event.payload_json() for event in events], events),
        metadatas=[orjson.dumps(event.metadata).decode() if event.metadata else None for event in events],
        # Whole-array NULLs let the function skip the outbox when no event goes there.
        topics=[event.topic for event in events] if routed else None,
        keys=[event_key(event) for event in events] if any(e.key is not None for e in routed) else None,
        headers=[_headers(event) for event in events] if any(e.headers for e in routed) else None,
    )


def _comparable(payloads: list[bytes], events: Sequence[NewEvent]) -> list[bytes]:
    """Refuse a payload holding U+0000: events.data is json, which takes it, but a retry is recognised by
    comparing payloads as jsonb, which cannot hold it, so the retry would fail instead of being answered
    as a duplicate. (Before migration 0011 the jsonb column refused such a payload at its first append.)
    """
    for payload, event in zip(payloads, events, strict=True):
        if b"\\u0000" in payload and _NUL_ESCAPE.search(payload):
            raise ValueError(
                f"event {event.event_id}: its payload holds U+0000, which the store cannot compare"
            )
    return payloads


def event_key(event: NewEvent) -> bytes | None:
    if event.topic is None or event.key is None:
        return None
    return event.key.encode() if isinstance(event.key, str) else event.key


def _headers(event: NewEvent) -> str | None:
    if event.topic is None or not event.headers:
        return None
    return orjson.dumps(event.headers).decode()


def check_append(request: AppendRequest) -> None:
    """Refuse an append without events or with a repeated event id (a programming error)."""
    if not request.events:
        raise ValueError(f"an append to stream {request.stream_id!r} needs at least one event")
    ids = {event.event_id for event in request.events}
    if len(ids) != len(request.events):
        raise ValueError(f"an append to stream {request.stream_id!r} repeats an event id")


def decode_outcomes(requests: Sequence[AppendRequest], rows: Sequence[Any]) -> list[AppendOutcome]:
    """Split the function's rows (one per append, in order) into each append's own outcome."""
    if len(rows) != len(requests):
        raise RuntimeError(f"append_events answered {len(rows)} rows for {len(requests)} appends")
    outcomes: list[AppendOutcome] = []
    for request, row in zip(requests, rows, strict=True):
        outcome, first, last, actual, conflicting = row
        if outcome in ("appended", "duplicate"):
            outcomes.append(AppendResult(request.stream_id, first, last))
        elif outcome == "conflict":
            outcomes.append(ConcurrencyError(request.stream_id, request.expected_version, actual))
        elif outcome == "event_id_conflict":
            outcomes.append(EventIdConflict(request.stream_id, list(conflicting or ())))
        else:
            raise RuntimeError(f"append_events answered an unknown outcome {outcome!r}")
    return outcomes


@lru_cache(maxsize=64)
def _append_sql(schema: str) -> str:
    return store_schema(schema).sql(
        "SELECT outcome, first_version, last_version, actual_version, conflicting_ids "
        "FROM {append_events_packed}($1::text[], $2::int[], $3::int[], $4::int[], $5::uuid[], $6::text[], "
        "$7::int[], $8::date[], $9::bytea, $10::int[], $11::int[], $12::text[], $13::text[], $14::bytea[], "
        "$15::text[])"
    )


async def append_many_in(
    conn: DbConnection, schema: str, requests: Sequence[AppendRequest]
) -> list[AppendOutcome]:
    """Append several appends in one round trip on ``conn``; one outcome per append, in order.

    Outside a transaction the call commits on its own; inside one (e.g. a consumer's batch) it writes
    in that transaction. A conflicting append writes nothing and does not stop the others. An SQL error
    (e.g. two transactions racing with the same new event id) fails the whole call and writes nothing;
    inside a caller's transaction it aborts that transaction, except where the call ran as several
    statements (below), which roll back to their savepoint.
    """
    rounds = _rounds(requests)
    if len(rounds) == 1:
        rows = await _append_statement(conn, schema, requests)
        _count(schema, rows, requests)
        return decode_outcomes(requests, rows)
    # An append repeating ids of an earlier one (a retry queued beside its original): in one statement
    # its ids are not stored yet when it is checked, so it was taken for a new append after the
    # original, a ConcurrencyError. A later statement of the same transaction sees them and answers it
    # as a retry (a duplicate, or an event id conflict). One transaction (a savepoint inside the
    # caller's) keeps the rounds all or nothing, as the one statement is; counted once it is done.
    answers: list[Any] = [None] * len(requests)
    async with conn.transaction():
        for members in rounds:
            rows = await _append_statement(conn, schema, [requests[i] for i in members])
            for i, row in zip(members, rows, strict=True):
                answers[i] = row
    _count(schema, answers, requests)
    return decode_outcomes(requests, answers)


def _rounds(requests: Sequence[AppendRequest]) -> list[list[int]]:
    """The appends in statements to run one after another: each after every earlier append that
    shares one of its event ids or its stream (so that a stream's appends keep the call's order), and
    as early as that allows. Nearly always all in one."""
    every = [event.event_id for request in requests for event in request.events]
    if len(set(every)) == len(every):  # the common case, checked at the cost of one set
        return [list(range(len(requests)))]
    rounds: list[tuple[set[object], list[int]]] = []
    for index, request in enumerate(requests):
        keys: set[object] = {event.event_id for event in request.events}
        keys.add(request.stream_id)
        after = max((n + 1 for n, (taken, _) in enumerate(rounds) if not taken.isdisjoint(keys)), default=0)
        if after == len(rounds):
            rounds.append((set(), []))
        rounds[after][0].update(keys)
        rounds[after][1].append(index)
    return [members for _, members in rounds]


async def _append_statement(conn: DbConnection, schema: str, requests: Sequence[AppendRequest]) -> list[Any]:
    """The function's rows for ``requests``, one per append, in order."""
    return list(await conn.fetch(_append_sql(schema), *encode_appends(requests).arguments()))


async def append_in(
    conn: DbConnection,
    schema: str,
    stream_id: str,
    events: Sequence[NewEvent],
    expected_version: ExpectedVersion = ANY,
) -> AppendResult:
    """Append ``events`` to ``stream_id`` on ``conn``, in the caller's transaction if one is open.

    Raises ConcurrencyError when the stream is not at ``expected_version`` and EventIdConflict when an
    event id is stored with other content; in both cases nothing is written and a caller's transaction
    can go on. Retrying an append that is done returns its original result.

    One race is no such outcome: another transaction writing one of the ids, committed while this
    append waits for it, fails this append's insert on the key. Alone, that is an EventIdConflict (the
    statement was its own transaction); inside a caller's transaction, which the failure has aborted,
    the ``asyncpg.UniqueViolationError`` itself is raised, so that the caller does not carry on.
    """
    request = AppendRequest(stream_id, events, expected_version)
    try:
        (outcome,) = await append_many_in(conn, schema, [request])
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == EVENT_ID_CONSTRAINT and not conn.is_in_transaction():
            raise EventIdConflict(stream_id, ()) from exc
        raise
    if isinstance(outcome, AppendResult):
        return outcome
    raise outcome


def _count(schema: str, rows: Sequence[Any], requests: Sequence[AppendRequest]) -> None:
    outcomes = Counter(row[0] for row in rows)
    for outcome, count in outcomes.items():
        metrics.APPENDS.labels(schema, outcome).inc(count)
    appended = sum(len(r.events) for row, r in zip(rows, requests, strict=True) if row[0] == "appended")
    if appended:
        metrics.EVENTS_APPENDED.labels(schema).inc(appended)
