"""Person streams in eligibility's event store: one stream per person, holding the case events received
(facts) and the decisions emitted, so that a person's state is a fold of their stream.

Appends and reads go through amnesty_eventstore, so an event stored in an older schema version is
upcast on read (register the step in ``UPCASTERS`` when an event's shape grows).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol
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
from amnesty_eventstore import (
    AppendOutcome,
    AppendRequest,
    DbConnection,
    Upcasters,
    append_many_in,
    read_streams,
    streams_holding,
    walk_streams,
)
from amnesty_eventstore.dead_letters import DeadLetter, dead_letter_in

STREAM_PREFIX = "person-"

UPCASTERS = Upcasters()
"""How stored case events and decisions of older schema versions read as current ones (none yet)."""

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


class PersonStore(Protocol):
    """Eligibility's store within one transaction: the person streams and the dead letters.

    ``PostgresPersonStore`` in production; tests run the use case on an in-memory one.
    """

    async def load(self, persons: Sequence[str], event_ids: Sequence[UUID]) -> Loaded:
        """The streams of ``persons``, and the streams already holding ``event_ids``."""
        ...

    async def append(self, requests: Sequence[AppendRequest]) -> list[AppendOutcome]:
        """Append facts and decisions (decisions with their outbox messages), one outcome per append."""
        ...

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        """Queue rejected messages for the rejected topic."""
        ...


@dataclass(frozen=True, slots=True)
class PostgresPersonStore:
    conn: DbConnection
    schema: str
    rejected_topic: str
    new_id: Callable[[], UUID]

    async def load(self, persons: Sequence[str], event_ids: Sequence[UUID]) -> Loaded:
        return await load(self.conn, self.schema, persons, event_ids)

    async def append(self, requests: Sequence[AppendRequest]) -> list[AppendOutcome]:
        return await append_many_in(self.conn, self.schema, requests)

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        await dead_letter_in(self.conn, self.schema, self.rejected_topic, letters, self.new_id)


async def load(conn: DbConnection, schema: str, persons: Sequence[str], event_ids: Sequence[UUID]) -> Loaded:
    """Read the streams of `persons` (keyed by stream id) and the streams of `event_ids` already stored
    (the same id under another person is refused, not appended)."""
    wanted = {stream_of(p): LoadedStream(p) for p in persons}
    read = await read_streams(conn, schema, wanted, upcasters=UPCASTERS) if wanted else {}
    for stream_id, events in read.items():
        stream = wanted[stream_id]
        stream.version = events[-1].stream_version
        stream.decisions = [
            DECISION_EVENT_ADAPTER.validate_python(e.data) for e in events if e.type in DECISION_EVENT_MODELS
        ]
        stream.case_events = [
            CASE_EVENT_ADAPTER.validate_python(e.data) for e in events if e.type in CASE_EVENT_MODELS
        ]
    return Loaded(wanted, await streams_holding(conn, schema, event_ids))


async def histories(conn: DbConnection, *, schema: str, prefetch: int = 5000) -> AsyncIterator[PersonHistory]:
    """Every person's history, one at a time, from one snapshot (a read-only transaction and a cursor).

    Memory holds one person at a time, whatever the size of the store.
    """
    current: str | None = None
    events: list[CaseEvent] = []
    async for event in walk_streams(
        conn, schema, STREAM_PREFIX, types=_CASE_TYPES, upcasters=UPCASTERS, prefetch=prefetch
    ):
        if event.stream_id != current:
            if current is not None:
                yield fold(current.removeprefix(STREAM_PREFIX), events)
            current, events = event.stream_id, []
        events.append(CASE_EVENT_ADAPTER.validate_python(event.data))
    if current is not None:
        yield fold(current.removeprefix(STREAM_PREFIX), events)
