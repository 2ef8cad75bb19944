"""Every boundary of every regime of the rule set in force, for the absence start and the return date.

The expected dates are docs/domain.md §2's, written out here, so the shipped rule file is checked against the
law and not against itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pytest

from amnesty_eligibility.domain.decisions import DENIED, GRANTED, Outcome, decide
from amnesty_eligibility.domain.history import fold
from tests.unit.eligibility.examples import RULES, opened, returned

ONE_DAY = timedelta(days=1)
OUTSIDE = Outcome(DENIED, "outside-window")

# regime: (last day the absence may have started, first and last return day, an absence and a return
# date well inside, to hold one side still while the other moves)
LAW = {
    "window-1": (
        date(2024, 11, 28),
        date(2024, 11, 29),
        date(2025, 3, 1),
        date(2024, 10, 1),
        date(2025, 1, 15),
    ),
    "window-2": (date(2025, 5, 9), date(2025, 5, 10), date(2025, 8, 30), date(2025, 3, 1), date(2025, 6, 15)),
    "pilot-2026": (
        date(2026, 6, 12),
        date(2026, 6, 1),
        date(2026, 9, 20),
        date(2026, 3, 1),
        date(2026, 7, 15),
    ),
}
MARTIAL_LAW = date(2022, 2, 24)


def _return_cases() -> Sequence[object]:
    cases: list[object] = []
    for regime, (_, first, last, absence, _) in LAW.items():
        granted = Outcome(GRANTED, regime)
        for name, returned_on, expected in [
            ("day before the window", first - ONE_DAY, OUTSIDE),
            ("first day", first, granted),
            ("last day", last, granted),
            ("day after", last + ONE_DAY, OUTSIDE),
        ]:
            cases.append(pytest.param(absence, returned_on, expected, id=f"{regime}: return {name}"))
    return cases


def _absence_cases() -> Sequence[object]:
    cases: list[object] = []
    for regime, (absence_by, _, _, _, returned_on) in LAW.items():
        granted = Outcome(GRANTED, regime)
        for name, absent_since, expected in [
            ("since martial law began", MARTIAL_LAW, granted),
            ("day before the cut-off", absence_by - ONE_DAY, granted),
            ("last day", absence_by, granted),
            ("day after", absence_by + ONE_DAY, OUTSIDE),
        ]:
            cases.append(pytest.param(absent_since, returned_on, expected, id=f"{regime}: absence {name}"))
    return cases


def _outcome(absent_since: date, returned_on: date) -> Outcome:
    history = fold("p", [opened(absent_since=absent_since), returned(returned_on)])
    (decision,) = decide(history, RULES)
    return decision.outcome


@pytest.mark.parametrize(("absent_since", "returned_on", "expected"), _return_cases())
def test_return_date_boundaries(absent_since: date, returned_on: date, expected: Outcome) -> None:
    assert _outcome(absent_since, returned_on) == expected


@pytest.mark.parametrize(("absent_since", "returned_on", "expected"), _absence_cases())
def test_absence_start_boundaries(absent_since: date, returned_on: date, expected: Outcome) -> None:
    assert _outcome(absent_since, returned_on) == expected


def test_the_rule_set_in_force_has_exactly_the_regimes_of_the_law() -> None:
    assert [r.id for r in RULES.regimes] == list(LAW)
    for regime in RULES.regimes:
        absence_by, first, last, _, _ = LAW[regime.id]
        assert (regime.absence_by, regime.returns_from, regime.returns_until) == (absence_by, first, last)
