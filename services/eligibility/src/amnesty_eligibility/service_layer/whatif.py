"""What if another rule set had been in force: the recorded histories decided under both, compared.

Nothing is appended or published; the decisions are computed afresh under each rule set from the facts
recorded, so the comparison shows what the law changes, not what arrived late.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from amnesty_eligibility.adapters import person_streams
from amnesty_eligibility.domain.decisions import Outcome, decide
from amnesty_eligibility.domain.history import PersonHistory
from amnesty_eligibility.domain.regimes import RuleSet
from amnesty_eventstore import DbConnection


@dataclass
class Comparison:
    """Decisions on the returns of a period (by return date, bounds inclusive) under two rule sets."""

    active: RuleSet
    alternative: RuleSet
    since: date | None = None
    until: date | None = None
    under_active: Counter[Outcome] = field(default_factory=Counter)
    under_alternative: Counter[Outcome] = field(default_factory=Counter)
    returns: int = 0
    returns_changed: int = 0
    persons: int = 0
    persons_changed: int = 0

    def add(self, history: PersonHistory) -> None:
        """Count one person's returns in the period."""
        pairs = [
            (a.outcome, b.outcome)
            for a, b in zip(decide(history, self.active), decide(history, self.alternative), strict=True)
            if self._in_period(a.ret.returned_on)
        ]
        if not pairs:
            return
        changed = sum(1 for a, b in pairs if a != b)
        self.under_active.update(a for a, _ in pairs)
        self.under_alternative.update(b for _, b in pairs)
        self.returns += len(pairs)
        self.returns_changed += changed
        self.persons += 1
        self.persons_changed += 1 if changed else 0

    def _in_period(self, day: date) -> bool:
        return (self.since is None or self.since <= day) and (self.until is None or day <= self.until)


async def what_if(
    conn: DbConnection,
    schema: str,
    active: RuleSet,
    alternative: RuleSet,
    *,
    since: date | None = None,
    until: date | None = None,
    advance: Callable[[int], None] = lambda _persons: None,
) -> Comparison:
    """Replay every person's recorded history in `schema` under both rule sets; ``advance(1)`` after
    each person (for a progress bar)."""
    comparison = Comparison(active, alternative, since, until)
    async for history in person_streams.histories(conn, schema=schema):
        comparison.add(history)
        advance(1)
    return comparison
