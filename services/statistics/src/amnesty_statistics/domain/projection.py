"""The projection: a person's figures as a function of their state, and the deltas an event makes.

`contributions(state)` is everything one person adds to the daily table. Applying events is a fold over
the state (`persons.apply`); what a batch writes is the difference of the contributions after and before,
so a late event (a case arriving after its return, say) moves what it changes and nothing else.

The rules (documented in the README, "Counting rules"):

- Every figure is dated by its event's business date (`occurred_on`).
- A figure's region and article are those of the person's case it belongs to: the case a return,
  detention or decision names (through its return), else the latest case whose absence began on or
  before the figure's date. Without such a case: the event's own region if it has one, else `unknown`,
  and the article `unknown`; when the case arrives later, the figure moves to it.
- Article: the case's article on the figure's date. A reclassification counts from its date on: cases
  opened stay under the article they were opened with; open cases move from the old to the new article on
  the reclassification date.
- A case is open from its registration until the earliest of: a return or detention naming it, one
  naming no case on or after its absence began, its closing (never before its registration).
- Each return counts once under its decision in force: a later decision supersedes the earlier one, so
  a pending later decided is no longer pending and a revoked grant is no longer granted (it counts as
  revoked, under the grant's regime, on the same date: the return's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from amnesty_statistics.domain.figures import (
    NO_LABEL,
    UNKNOWN,
    Cell,
    Counts,
    Metric,
    add_into,
    count,
    difference,
)
from amnesty_statistics.domain.persons import (
    EMPTY,
    Case,
    Decision,
    DecisionKind,
    EndingKind,
    PersonState,
    ProjectedEvent,
    Reclassification,
    apply,
)

_ENDING_METRIC = {EndingKind.RETURN: Metric.VOLUNTARY_RETURNS, EndingKind.DETENTION: Metric.DETAINED}
_DECISION_METRIC = {
    DecisionKind.GRANTED: Metric.AMNESTIES_GRANTED,
    DecisionKind.DENIED: Metric.AMNESTIES_DENIED,
    DecisionKind.PENDING: Metric.PENDING,
    DecisionKind.REVOKED: Metric.REVOKED,
}


def contributions(state: PersonState) -> Counts:
    """Every count one person adds to the daily table."""
    history = _reclassifications_by_case(state.reclassifications.values())
    cells: list[Cell] = []
    for case in state.cases.values():
        # The article it was opened with, as the prosecutors' monthly series count cases opened: a
        # reclassification dated on (or before) the registration day moves the open case, not this.
        cells.append(Cell(Metric.CASES_OPENED, case.registered_on, case.region, case.article))
    for ending in state.endings.values():
        metric = _ENDING_METRIC.get(ending.kind)
        if metric is not None:
            region, article = _where(state, history, ending.case_number, ending.on, ending.region)
            cells.append(Cell(metric, ending.on, region, article))
    for key, decisions in state.decisions.items():
        decided = state.endings.get(key)
        case_number, own_region = (
            (decided.case_number, decided.region) if decided is not None else (None, None)
        )
        cells.append(
            _decision_cell(
                decisions.current, *_where(state, history, case_number, decisions.current.on, own_region)
            )
        )
    counts = count(cells)
    for case in state.cases.values():
        add_into(counts, _open_case(case, history.get(case.number, ()), _end_of(case, state)))
    return counts


def project(state: PersonState, events: Iterable[ProjectedEvent]) -> tuple[PersonState, Counts]:
    """The person's state after ``events``, and the deltas they make to the daily table."""
    after = state
    for event in events:
        after = apply(after, event)
    if after == state:
        return state, {}
    return after, difference(contributions(after), contributions(state))


def project_batch(
    states: Mapping[str, PersonState], events: Iterable[ProjectedEvent]
) -> tuple[dict[str, PersonState], Counts]:
    """The states of the persons whose state ``events`` changed, and the batch's deltas.

    ``states`` holds the persons known so far; a person missing from it starts empty.
    """
    per_person: dict[str, list[ProjectedEvent]] = {}
    for event in events:
        per_person.setdefault(event.person, []).append(event)
    changed: dict[str, PersonState] = {}
    deltas: Counts = {}
    for person, own in per_person.items():
        before = states.get(person, EMPTY)
        after, person_deltas = project(before, own)
        if after != before:
            changed[person] = after
        add_into(deltas, person_deltas)
    return changed, deltas


def _reclassifications_by_case(
    changes: Iterable[Reclassification],
) -> dict[str, tuple[Reclassification, ...]]:
    by_case: dict[str, list[Reclassification]] = {}
    for change in changes:
        by_case.setdefault(change.case_number, []).append(change)
    return {number: tuple(sorted(own, key=lambda r: (r.on, r.event_id))) for number, own in by_case.items()}


def _article_on(case: Case, changes: tuple[Reclassification, ...], day: date) -> str:
    """The case's article on ``day``: that of its latest reclassification by then, else its own."""
    article = case.article
    for change in changes:
        if change.on > day:
            break
        article = change.article
    return article


def _case_of(state: PersonState, case_number: str | None, day: date) -> Case | None:
    """The case named, else the latest absence begun by ``day`` (the smaller number on a tie)."""
    named = state.cases.get(case_number) if case_number is not None else None
    if named is not None:
        return named
    begun = [c for c in state.cases.values() if c.absent_since <= day]
    return min(begun, key=lambda c: (-c.absent_since.toordinal(), c.number), default=None)


def _where(
    state: PersonState,
    history: Mapping[str, tuple[Reclassification, ...]],
    case_number: str | None,
    day: date,
    own_region: str | None,
) -> tuple[str, str]:
    """(region, article) of a figure dated ``day``."""
    case = _case_of(state, case_number, day)
    if case is None:
        return own_region or UNKNOWN, UNKNOWN
    return case.region, _article_on(case, history.get(case.number, ()), day)


def _decision_cell(decision: Decision, region: str, article: str) -> Cell:
    regime = decision.regime if decision.kind in {DecisionKind.GRANTED, DecisionKind.REVOKED} else NO_LABEL
    reason = decision.reason if decision.kind is not DecisionKind.GRANTED else NO_LABEL
    return Cell(_DECISION_METRIC[decision.kind], decision.on, region, article, regime, reason)


def _end_of(case: Case, state: PersonState) -> date | None:
    """When the case stops being open: its earliest ending, never before its registration."""
    ends = [
        e.on
        for e in state.endings.values()
        if e.case_number == case.number
        or (e.case_number is None and e.kind is not EndingKind.CLOSURE and e.on >= case.absent_since)
    ]
    return max(min(ends), case.registered_on) if ends else None


def _open_case(case: Case, changes: tuple[Reclassification, ...], end: date | None) -> Counts:
    """+1 on registration, -1 on the end, and a move between articles on each reclassification between."""
    article = _article_on(case, changes, case.registered_on)
    deltas: Counts = {Cell(Metric.OPEN_CASES_CHANGE, case.registered_on, case.region, article): 1}
    for change in changes:
        if change.on <= case.registered_on or (end is not None and change.on >= end):
            continue
        now = _article_on(case, changes, change.on)
        if now != article:
            add_into(deltas, {Cell(Metric.OPEN_CASES_CHANGE, change.on, case.region, article): -1})
            add_into(deltas, {Cell(Metric.OPEN_CASES_CHANGE, change.on, case.region, now): 1})
            article = now
    if end is not None:
        add_into(deltas, {Cell(Metric.OPEN_CASES_CHANGE, end, case.region, article): -1})
    return deltas
