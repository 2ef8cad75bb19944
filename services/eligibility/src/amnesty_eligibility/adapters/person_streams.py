"""Person streams in eligibility's event store: one stream per person, holding the case events received
(facts) and the decisions emitted, so that a person's state is a fold of their stream.

Appends go through amnesty_eventstore (``append_many_in``). Reads of many streams at once and a walk of
every stream in stream order are not in that library yet, so they are here, over its ``events`` table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from uuid import UUID

from amnesty_contracts import (
    CASE_EVENT_ADAPTER,
    CASE_EVENT_MODELS,
    DECISION_EVENT_ADAPTER,
    DECISION_EVENT_MODELS,
    CaseEvent,
    DecisionEvent,
)
from amnesty_eligibility.domain.history import PersonHistory, fold
from amnesty_eligibility.domain.person import Person
from amnesty_eventstore import DbConnection
from amnesty_eventstore.schemas import store_schema

STREAM_PREFIX = "person-"

_CASE_TYPES = list(CASE_EVENT_MODELS)


def stream_of(person: str) -> str:
    return STREAM_PREFIX + person


@dataclass
class LoadedStream:
    """A person's stream as read: the events, split by kind, and its version (0 when it has none)."""

    person: str
    version: int = 0
    case_events: list[CaseEvent] = field(default_factory=list)
    decisions: list[DecisionEvent] = field(default_factory=list)

    def replay(self) -> Person:
        return Person.replay(self.person, self.case_events, self.decisions)


@dataclass(frozen=True, slots=True)
class Loaded:
    """The streams of a batch's persons, and where the batch's event ids are stored already."""

    streams: dict[str, LoadedStream]
    stored_in: dict[UUID, str]


@lru_cache(maxsize=16)
def _load_sql(schema: str) -> str:
    # One round trip for a whole batch: the persons' streams, and any stream holding one of the batch's
    # event ids (the same id under another person is refused, not appended).
    return store_schema(schema).sql(
        "SELECT stream_id, stream_version, event_id, type, data::text FROM {events} "
        "WHERE stream_id = ANY($1::text[]) OR event_id = ANY($2::uuid[]) "
        "ORDER BY stream_id, stream_version"
    )


async def load(conn: DbConnection, schema: str, persons: Sequence[str], event_ids: Sequence[UUID]) -> Loaded:
    """Read the streams of `persons` (keyed by stream id) and the streams of `event_ids` already stored."""
    wanted = {stream_of(p): LoadedStream(p) for p in persons}
    stored_in: dict[UUID, str] = {}
    for stream_id, version, event_id, type_, data in await conn.fetch(
        _load_sql(schema), list(wanted), list(event_ids)
    ):
        stored_in[event_id] = stream_id
        stream = wanted.get(stream_id)
        if stream is None:
            continue
        stream.version = version
        if type_ in DECISION_EVENT_MODELS:
            stream.decisions.append(DECISION_EVENT_ADAPTER.validate_json(data))
        elif type_ in CASE_EVENT_MODELS:
            stream.case_events.append(CASE_EVENT_ADAPTER.validate_json(data))
    return Loaded(wanted, stored_in)


@lru_cache(maxsize=16)
def _histories_sql(schema: str) -> str:
    return store_schema(schema).sql(
        "SELECT stream_id, data::text FROM {events} "
        "WHERE starts_with(stream_id, $1) AND type = ANY($2::text[]) "
        "ORDER BY stream_id, stream_version"
    )


async def histories(conn: DbConnection, *, schema: str, prefetch: int = 5000) -> AsyncIterator[PersonHistory]:
    """Every person's history, one at a time, from one snapshot (a read-only transaction and a cursor).

    Memory holds one person at a time, whatever the size of the store.
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = conn.cursor(_histories_sql(schema), STREAM_PREFIX, _CASE_TYPES, prefetch=prefetch)
        current: str | None = None
        events: list[CaseEvent] = []
        async for stream_id, data in cursor:
            if stream_id != current:
                if current is not None:
                    yield fold(current.removeprefix(STREAM_PREFIX), events)
                current, events = stream_id, []
            events.append(CASE_EVENT_ADAPTER.validate_json(data))
        if current is not None:
            yield fold(current.removeprefix(STREAM_PREFIX), events)
