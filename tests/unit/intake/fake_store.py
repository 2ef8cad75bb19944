"""An in-memory ``IntakeStore`` and the intake use case over it: intake run in-process, as the
PostgreSQL store would answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from amnesty_eventstore import AppendRequest, NewEvent
from amnesty_eventstore.dead_letters import DeadLetter
from amnesty_intake.domain.admission import SubmissionKey
from amnesty_intake.domain.pseudonyms import Pseudonymizer
from amnesty_intake.service_layer.admission import Admission

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
KEY = b"k" * 32


@dataclass
class FakeIntakeStore:
    log: dict[SubmissionKey, tuple[str, UUID]] = field(default_factory=dict)
    streams: dict[str, list[NewEvent]] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    async def claim(
        self, first: Mapping[SubmissionKey, tuple[str, UUID]]
    ) -> tuple[set[SubmissionKey], dict[SubmissionKey, str]]:
        claimed = {key for key in first if key not in self.log}
        stored = {key: self.log[key][0] for key in first if key in self.log}
        self.log |= {key: first[key] for key in claimed}
        return claimed, stored

    async def append(self, appends: Sequence[AppendRequest]) -> None:
        for request in appends:
            self.streams.setdefault(request.stream_id, []).extend(request.events)

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        self.dead_letters += letters

    @property
    def events(self) -> list[NewEvent]:
        return [event for events in self.streams.values() for event in events]


def admission(store: FakeIntakeStore) -> Admission:
    """The intake use case over ``store``, with a fixed key and clock."""
    return Admission(
        pseudonyms=Pseudonymizer(KEY), store=lambda _conn: store, cases_topic="cases", clock=lambda: NOW
    )
