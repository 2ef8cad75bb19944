"""An in-memory ``PersonStore`` and the eligibility policy over it: eligibility run in-process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from amnesty_contracts import (
    CASE_EVENT_ADAPTER,
    CASE_EVENT_MODELS,
    DECISION_EVENT_ADAPTER,
    DECISION_EVENT_MODELS,
)
from amnesty_eligibility.adapters.person_streams import Loaded, LoadedStream, stream_of
from amnesty_eligibility.service_layer.handlers import Eligibility
from amnesty_eventstore import (
    ANY,
    AppendOutcome,
    AppendRequest,
    AppendResult,
    ConcurrencyError,
    NewEvent,
)
from amnesty_eventstore.dead_letters import DeadLetter

from .examples import NOW, RULES


@dataclass
class FakePersonStore:
    """Streams as lists of the appended events; optimistic concurrency as the real store checks it."""

    streams: dict[str, list[NewEvent]] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    async def load(self, persons: Sequence[str], event_ids: Sequence[UUID]) -> Loaded:
        wanted = {stream_of(p): LoadedStream(p) for p in persons}
        for stream_id, stream in wanted.items():
            events = self.streams.get(stream_id, [])
            stream.version = len(events)
            stream.case_events = [
                CASE_EVENT_ADAPTER.validate_python(e.document) for e in events if e.type in CASE_EVENT_MODELS
            ]
            stream.decisions = [
                DECISION_EVENT_ADAPTER.validate_python(e.document)
                for e in events
                if e.type in DECISION_EVENT_MODELS
            ]
        ids = set(event_ids)
        holding = {e.event_id: s for s, events in self.streams.items() for e in events if e.event_id in ids}
        return Loaded(wanted, holding)

    async def append(self, requests: Sequence[AppendRequest]) -> list[AppendOutcome]:
        outcomes: list[AppendOutcome] = []
        for request in requests:
            events = self.streams.setdefault(request.stream_id, [])
            if request.expected_version is not ANY and request.expected_version != len(events):
                outcomes.append(ConcurrencyError(request.stream_id, request.expected_version, len(events)))
                continue
            events.extend(request.events)
            outcomes.append(
                AppendResult(request.stream_id, len(events) - len(request.events) + 1, len(events))
            )
        return outcomes

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        self.dead_letters += letters

    def published(self, topic: str) -> list[NewEvent]:
        """What the relay would publish to ``topic``, in append order."""
        return [e for events in self.streams.values() for e in events if e.topic == topic]


def eligibility(store: FakePersonStore) -> Eligibility:
    """The eligibility policy over ``store``, with the active rule set and a fixed clock."""
    return Eligibility(schema="eligibility", rules=RULES, store=lambda _conn: store, clock=lambda: NOW)
