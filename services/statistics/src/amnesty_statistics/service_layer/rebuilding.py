"""A rebuild folded in memory: every person's state from all their events, then the figures at once.

The incremental projection writes, batch after batch, the difference a batch makes to the persons'
contributions. A rebuild has every event before it writes anything, so it keeps the states in memory
and computes each person's contributions once, at the end: the same read model (the fold is order-free
and idempotent), in one bulk write instead of a transaction per batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from amnesty_contracts import Rejection
from amnesty_statistics.domain.figures import Counts, add_into
from amnesty_statistics.domain.persons import EMPTY, PersonState, ProjectedEvent, apply
from amnesty_statistics.domain.projection import contributions


class RebuildProgress(Protocol):
    """Where a rebuild reports how far it is (the CLI draws a progress bar)."""

    def note(self, message: str) -> None: ...

    def advance(self, done: int, total: int) -> None: ...


@dataclass
class InMemoryFold:
    """The persons' states of a rebuild, and the messages it skipped (unreadable), by reason."""

    states: dict[str, PersonState] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def take(self, events: Iterable[ProjectedEvent | Rejection]) -> None:
        states = self.states
        for event in events:
            if isinstance(event, Rejection):
                reason = str(event.reason)
                self.skipped[reason] = self.skipped.get(reason, 0) + 1
            else:
                states[event.person] = apply(states.get(event.person, EMPTY), event)

    def figures(self) -> Counts:
        """The daily table: every person's contributions, summed."""
        total: Counts = {}
        for state in self.states.values():
            add_into(total, contributions(state))
        return total
