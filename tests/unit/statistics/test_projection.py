"""The projection fold: tables of events and the figures they come to, whatever order they arrive in."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest

from amnesty_contracts import CASE_EVENT_MODELS, CaseEvent, DecisionEvent
from amnesty_statistics.domain.figures import Cell, Counts, Metric, add_into
from amnesty_statistics.domain.persons import EMPTY, PersonState, apply
from amnesty_statistics.domain.projection import contributions, project, project_batch
from tests.support.domain_events import EventFactory, day

Event = CaseEvent | DecisionEvent

CASES = Metric.CASES_OPENED
RETURNS = Metric.VOLUNTARY_RETURNS
DETAINED = Metric.DETAINED
GRANTED = Metric.AMNESTIES_GRANTED
DENIED = Metric.AMNESTIES_DENIED
PENDING = Metric.PENDING
REVOKED = Metric.REVOKED
OPEN = Metric.OPEN_CASES_CHANGE


def cell(metric: Metric, on: str, region: str = "UA-48", article: str = "407", **labels: str) -> Cell:
    return Cell(metric, day(on), region, article, labels.get("regime", ""), labels.get("reason", ""))


def fold(events: Sequence[Event]) -> PersonState:
    state = EMPTY
    for event in events:
        state = apply(state, event)
    return state


Story = Callable[[EventFactory], list[Event]]


def _opened(f: EventFactory) -> list[Event]:
    return [f.case_opened("p", "c1", "2025-01-10", absent_since="2025-01-01")]


def _returned(f: EventFactory) -> list[Event]:
    return [*_opened(f), f.voluntary_return("p", "2025-02-03", region="UA-30")]


def _return_before_its_case(f: EventFactory) -> list[Event]:
    return [f.voluntary_return("p", "2025-02-03", region="UA-30")]


def _return_without_anything(f: EventFactory) -> list[Event]:
    return [f.voluntary_return("p", "2025-02-03")]


def _detained(f: EventFactory) -> list[Event]:
    return [*_opened(f), f.detained("p", "2025-03-01")]


def _pending_then_granted(f: EventFactory) -> list[Event]:
    ret = f.voluntary_return("p", "2025-02-03")
    return [
        ret,
        f.pending(ret),
        f.case_opened("p", "c1", "2025-01-10", absent_since="2025-01-01"),
        f.granted(ret),
    ]


def _granted_then_revoked(f: EventFactory) -> list[Event]:
    ret = f.voluntary_return("p", "2025-02-03")
    grant = f.granted(ret, "window-1")
    return [*_opened(f), ret, grant, f.revoked(ret, grant, "repeat-offence")]


def _denied(f: EventFactory) -> list[Event]:
    ret = f.voluntary_return("p", "2025-02-03")
    return [*_opened(f), ret, f.denied(ret, "outside-window")]


def _reclassified(f: EventFactory) -> list[Event]:
    return [
        *_opened(f),
        f.reclassified("p", "c1", "408", "2025-03-01"),
        f.voluntary_return("p", "2025-04-01"),
    ]


def _reclassified_on_its_registration_day(f: EventFactory) -> list[Event]:
    return [*_opened(f), f.reclassified("p", "c1", "408", "2025-01-10")]


def _closed_then_an_earlier_return(f: EventFactory) -> list[Event]:
    return [*_opened(f), f.closed("p", "c1", "2025-05-01"), f.voluntary_return("p", "2025-04-01")]


def _returned_before_registration(f: EventFactory) -> list[Event]:
    return [*_opened(f), f.voluntary_return("p", "2025-01-05")]


def _second_absence(f: EventFactory) -> list[Event]:
    return [
        *_opened(f),
        f.voluntary_return("p", "2025-02-03"),
        f.case_opened("p", "c2", "2025-06-10", absent_since="2025-06-01", region="UA-30", article="408"),
        f.voluntary_return("p", "2025-07-01"),
    ]


def _named_case(f: EventFactory) -> list[Event]:
    return [
        *_opened(f),
        f.case_opened("p", "c2", "2025-01-20", absent_since="2025-01-15", region="UA-30"),
        f.voluntary_return("p", "2025-02-03", case="c1"),
    ]


STORIES: dict[str, tuple[Story, Counts]] = {
    "a case opened is counted and open": (
        _opened,
        {cell(CASES, "2025-01-10"): 1, cell(OPEN, "2025-01-10"): 1},
    ),
    "a return counts in its case's region and ends the case": (
        _returned,
        {
            cell(CASES, "2025-01-10"): 1,
            cell(OPEN, "2025-01-10"): 1,
            cell(RETURNS, "2025-02-03"): 1,
            cell(OPEN, "2025-02-03"): -1,
        },
    ),
    "a return before its case counts in its own region, article unknown": (
        _return_before_its_case,
        {cell(RETURNS, "2025-02-03", "UA-30", "unknown"): 1},
    ),
    "a return with neither case nor region is unknown": (
        _return_without_anything,
        {cell(RETURNS, "2025-02-03", "unknown", "unknown"): 1},
    ),
    "a detention is counted and ends the case": (
        _detained,
        {
            cell(CASES, "2025-01-10"): 1,
            cell(OPEN, "2025-01-10"): 1,
            cell(DETAINED, "2025-03-01"): 1,
            cell(OPEN, "2025-03-01"): -1,
        },
    ),
    "a pending return later granted is no longer pending": (
        _pending_then_granted,
        {
            cell(CASES, "2025-01-10"): 1,
            cell(OPEN, "2025-01-10"): 1,
            cell(RETURNS, "2025-02-03"): 1,
            cell(OPEN, "2025-02-03"): -1,
            cell(GRANTED, "2025-02-03", regime="window-1"): 1,
        },
    ),
    "a revoked grant is no longer granted but revoked, under its regime": (
        _granted_then_revoked,
        {
            cell(CASES, "2025-01-10"): 1,
            cell(OPEN, "2025-01-10"): 1,
            cell(RETURNS, "2025-02-03"): 1,
            cell(OPEN, "2025-02-03"): -1,
            cell(REVOKED, "2025-02-03", regime="window-1", reason="repeat-offence"): 1,
        },
    ),
    "a denial is counted by reason": (
        _denied,
        {
            cell(CASES, "2025-01-10"): 1,
            cell(OPEN, "2025-01-10"): 1,
            cell(RETURNS, "2025-02-03"): 1,
            cell(OPEN, "2025-02-03"): -1,
            cell(DENIED, "2025-02-03", reason="outside-window"): 1,
        },
    ),
    "a reclassification counts from its date: the open case moves to the new article": (
        _reclassified,
        {
            cell(CASES, "2025-01-10", article="407"): 1,
            cell(OPEN, "2025-01-10", article="407"): 1,
            cell(OPEN, "2025-03-01", article="407"): -1,
            cell(OPEN, "2025-03-01", article="408"): 1,
            cell(RETURNS, "2025-04-01", article="408"): 1,
            cell(OPEN, "2025-04-01", article="408"): -1,
        },
    ),
    "a case opened counts under the article it was opened with, even reclassified the same day": (
        _reclassified_on_its_registration_day,
        {
            cell(CASES, "2025-01-10", article="407"): 1,
            # Open from that day on: under the article it has at the day's end.
            cell(OPEN, "2025-01-10", article="408"): 1,
        },
    ),
    "the earliest ending ends the case, whatever arrived first": (
        _closed_then_an_earlier_return,
        {
            cell(CASES, "2025-01-10"): 1,
            cell(OPEN, "2025-01-10"): 1,
            cell(RETURNS, "2025-04-01"): 1,
            cell(OPEN, "2025-04-01"): -1,
        },
    ),
    "a case registered after the return was never open": (
        _returned_before_registration,
        {cell(CASES, "2025-01-10"): 1, cell(RETURNS, "2025-01-05"): 1},
    ),
    "a second absence is a second case; each return ends the absence it follows": (
        _second_absence,
        {
            cell(CASES, "2025-01-10"): 1,
            cell(OPEN, "2025-01-10"): 1,
            cell(RETURNS, "2025-02-03"): 1,
            cell(OPEN, "2025-02-03"): -1,
            cell(CASES, "2025-06-10", "UA-30", "408"): 1,
            cell(OPEN, "2025-06-10", "UA-30", "408"): 1,
            cell(RETURNS, "2025-07-01", "UA-30", "408"): 1,
            cell(OPEN, "2025-07-01", "UA-30", "408"): -1,
        },
    ),
    "a return naming its case ends that case only": (
        _named_case,
        {
            cell(CASES, "2025-01-10"): 1,
            cell(OPEN, "2025-01-10"): 1,
            cell(CASES, "2025-01-20", "UA-30"): 1,
            cell(OPEN, "2025-01-20", "UA-30"): 1,
            cell(RETURNS, "2025-02-03"): 1,
            cell(OPEN, "2025-02-03"): -1,
        },
    ),
}


@pytest.mark.parametrize("story", STORIES, ids=list(STORIES))
def test_a_story_comes_to_its_figures(story: str) -> None:
    tell, expected = STORIES[story]
    assert contributions(fold(tell(EventFactory()))) == expected


@pytest.mark.parametrize("story", STORIES, ids=list(STORIES))
def test_the_deltas_of_each_event_add_up_to_the_figures(story: str) -> None:
    state: PersonState = EMPTY
    total: Counts = {}
    for event in STORIES[story][0](EventFactory()):
        state, deltas = project(state, [event])
        add_into(total, deltas)
    assert total == contributions(state)


def _interleavings(events: list[Event], seed: int) -> list[Event]:
    """Case events in any order; decisions in their own order (one partition), anywhere among them."""
    rng = random.Random(seed)
    cases = [e for e in events if isinstance(e, tuple(CASE_EVENT_MODELS.values()))]
    decisions = [e for e in events if e not in cases]
    rng.shuffle(cases)
    merged: list[Event] = []
    while cases or decisions:
        source = cases if cases and (not decisions or rng.random() < 0.5) else decisions
        merged.append(source.pop(0))
    return merged


@pytest.mark.parametrize("story", STORIES, ids=list(STORIES))
def test_the_figures_do_not_depend_on_the_arrival_order(story: str) -> None:
    events = STORIES[story][0](EventFactory())
    expected = contributions(fold(events))
    for seed in range(20):
        assert contributions(fold(_interleavings(events, seed))) == expected


def test_an_event_applied_twice_changes_nothing() -> None:
    events = _granted_then_revoked(EventFactory())
    once = fold(events)
    assert fold(events + events) == once
    assert project(once, events) == (once, {})


def test_a_late_case_moves_the_return_and_its_decision_to_the_case() -> None:
    f = EventFactory()
    ret = f.voluntary_return("p", "2025-02-03", region="UA-30")
    state, deltas = project(EMPTY, [ret, f.pending(ret)])
    assert deltas == {
        cell(RETURNS, "2025-02-03", "UA-30", "unknown"): 1,
        cell(PENDING, "2025-02-03", "UA-30", "unknown", reason="case-unknown"): 1,
    }
    _, moved = project(state, [f.case_opened("p", "c1", "2025-01-10", region="UA-48")])
    assert moved == {
        cell(RETURNS, "2025-02-03", "UA-30", "unknown"): -1,
        cell(PENDING, "2025-02-03", "UA-30", "unknown", reason="case-unknown"): -1,
        cell(RETURNS, "2025-02-03"): 1,
        cell(PENDING, "2025-02-03", reason="case-unknown"): 1,
        cell(CASES, "2025-01-10"): 1,
        cell(OPEN, "2025-01-10"): 1,
        cell(OPEN, "2025-02-03"): -1,
    }


def test_a_decision_resent_after_a_newer_one_does_not_supersede_it() -> None:
    f = EventFactory()
    ret = f.voluntary_return("p", "2025-02-03")
    pending = f.pending(ret)
    grant = f.granted(ret)
    state = fold([ret, pending, grant, pending])
    assert contributions(state)[cell(GRANTED, "2025-02-03", "unknown", "unknown", regime="window-1")] == 1
    assert not [c for c in contributions(state) if c.metric is PENDING]


def test_the_first_recorded_opening_of_a_case_wins() -> None:
    f = EventFactory()
    first = f.case_opened("p", "c1", "2025-01-10", region="UA-48")
    second = f.case_opened("p", "c1", "2025-01-12", region="UA-30")
    assert contributions(fold([second, first])) == contributions(fold([first, second]))
    assert cell(CASES, "2025-01-10") in contributions(fold([second, first]))


def test_a_batch_projects_each_person_and_sums_their_deltas() -> None:
    f = EventFactory()
    events: list[Event] = [
        f.case_opened("p1", "c1", "2025-01-10"),
        f.case_opened("p2", "c2", "2025-01-10"),
        f.voluntary_return("p1", "2025-02-03"),
    ]
    changed, deltas = project_batch({}, events)
    assert set(changed) == {"p1", "p2"}
    assert deltas == {
        cell(CASES, "2025-01-10"): 2,
        cell(OPEN, "2025-01-10"): 2,
        cell(RETURNS, "2025-02-03"): 1,
        cell(OPEN, "2025-02-03"): -1,
    }
    unchanged, none = project_batch(changed, events)
    assert (unchanged, none) == ({}, {})
