"""Regimes (the return windows of the law) and rule sets (a versioned table of them): data, not code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class AbsenceDate(StrEnum):
    """Which date of a case a regime's absence cut-off applies to."""

    ABSENT_SINCE = "absent_since"
    REGISTERED_ON = "registered_on"


@dataclass(frozen=True, slots=True)
class Regime:
    """One window of the law: whose absence began by `absence_by` and who returned within the window.

    Every bound is inclusive ("absence started before 29 Nov" is `absence_by` = 28 Nov).
    """

    id: str
    absence_by: date
    returns_from: date
    returns_until: date
    absence_date: AbsenceDate = AbsenceDate.ABSENT_SINCE
    basis: str = ""

    def admits(self, *, absent_since: date, registered_on: date, returned_on: date) -> bool:
        """True when an absence with these dates, ended by a return on `returned_on`, falls in this window."""
        absence = absent_since if self.absence_date is AbsenceDate.ABSENT_SINCE else registered_on
        return absence <= self.absence_by and self.returns_from <= returned_on <= self.returns_until


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A version of the law: its regimes in order of precedence, and the constants the rules use."""

    version: str
    regimes: tuple[Regime, ...]
    reinstate_within_hours: int = 72
    same_return_within_days: int = 3
    description: str = ""

    def regime_for(self, *, absent_since: date, registered_on: date, returned_on: date) -> Regime | None:
        """The first regime (in file order) whose window admits the absence and return, if any."""
        for regime in self.regimes:
            if regime.admits(absent_since=absent_since, registered_on=registered_on, returned_on=returned_on):
                return regime
        return None
