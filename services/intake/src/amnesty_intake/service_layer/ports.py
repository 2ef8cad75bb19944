"""What admitting submissions needs of the world, inside one transaction: the port the use case talks to.

The PostgreSQL implementation is ``adapters.intake_store``; tests use an in-memory one, so the use case
runs in-process without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol
from uuid import UUID

from amnesty_eventstore import AppendRequest
from amnesty_eventstore.dead_letters import DeadLetter
from amnesty_intake.domain.admission import SubmissionKey


class IntakeStore(Protocol):
    """Intake's state within one transaction: the submission log, the event store, the dead letters."""

    async def claim(
        self, first: Mapping[SubmissionKey, tuple[str, UUID]]
    ) -> tuple[set[SubmissionKey], dict[SubmissionKey, str]]:
        """Record the keys not seen before with their content digest and event id; return them, and the
        stored digest of the others."""
        ...

    async def append(self, appends: Sequence[AppendRequest]) -> None:
        """Append the case events (with their outbox messages)."""
        ...

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        """Queue rejected messages for the rejected topic."""
        ...
