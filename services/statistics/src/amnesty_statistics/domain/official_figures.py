"""The published cumulative figures of voluntary returns under the windows (docs/domain.md §5).

The reference points the live page and the `amnesty-returns` dashboard draw beside the system's own
cumulative returns. No official monthly series exists: these few dated totals are all there is. They
are national (every region, both articles) and count returns since the first window opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Final

WINDOW_OPENED: Final = date(2024, 11, 29)
"""Law 4087-IX came into force: the published cumulative returns count from this day."""


class Qualifier(StrEnum):
    """How exact the published value is."""

    AT_LEAST = "at_least"
    APPROX = "approx"

    @property
    def sign(self) -> str:
        return "≥" if self is Qualifier.AT_LEAST else "≈"


@dataclass(frozen=True, slots=True)
class OfficialReturns:
    """Voluntary returns from `WINDOW_OPENED` to `on`, as one source published them."""

    on: date
    value: int
    qualifier: Qualifier
    source: str

    def as_json(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "value": self.value,
            "qualifier": self.qualifier.value,
            "label": f"{self.qualifier.sign}{self.value:,}",
            "source": self.source,
        }


OFFICIAL_RETURNS: Final = (
    OfficialReturns(date(2024, 12, 5), 8000, Qualifier.AT_LEAST, "Specialised Defence Prosecutor's Office"),
    OfficialReturns(date(2025, 1, 20), 10000, Qualifier.APPROX, "Commander-in-Chief Syrskyi"),
    OfficialReturns(date(2025, 3, 1), 21100, Qualifier.APPROX, "State Bureau of Investigation"),
    OfficialReturns(date(2025, 8, 30), 29000, Qualifier.AT_LEAST, "State Bureau of Investigation"),
)
"""By date; the same rows as the `returns_cumulative` series of the simulator's official-stats.csv."""
