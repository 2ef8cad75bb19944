"""What the projection remembers of one person: the facts its figures are computed from, as a fold.

The state is a set of facts keyed by identity, so applying an event twice changes nothing, and the
case events may come in any order relative to the decisions (they travel on different topics, so a
rebuild interleaves them differently from the live run). Only the decisions on one return are taken in
their order, which their topic keeps (one person, one partition): each supersedes the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from uuid import UUID

from amnesty_contracts import (
    AmnestyDeniedEvent,
    AmnestyGrantedEvent,
    AmnestyRevokedEvent,
    CaseClosedEvent,
    CaseEvent,
    CaseOpenedEvent,
    CaseReclassifiedEvent,
    DecisionEvent,
    DetainedEvent,
    EligibilityPendingEvent,
    VoluntaryReturnEvent,
)
from amnesty_statistics.domain.figures import NO_LABEL

SubmissionKey = tuple[str, str]
"""(source, submission_id): what a decision names the return it decides by; unique per case event."""


@dataclass(frozen=True, slots=True)
class Case:
    """A CaseOpened: where and under which article the person's figures are counted."""

    number: str
    article: str
    region: str
    absent_since: date
    registered_on: date
    opened_by: UUID


@dataclass(frozen=True, slots=True)
class Reclassification:
    case_number: str
    article: str
    on: date
    event_id: UUID


class EndingKind(StrEnum):
    """What ends an absence: a voluntary return, a detention, or the case's closing."""

    RETURN = "return"
    DETENTION = "detention"
    CLOSURE = "closure"


@dataclass(frozen=True, slots=True)
class Ending:
    kind: EndingKind
    on: date
    case_number: str | None
    region: str | None
    event_id: UUID


class DecisionKind(StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    PENDING = "pending"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Decision:
    """The decision in force on a return; a revocation keeps the regime of the grant it revoked."""

    kind: DecisionKind
    on: date
    regime: str
    reason: str
    event_id: UUID


@dataclass(frozen=True, slots=True)
class ReturnDecisions:
    """The latest decision on one return, and every decision on it seen (a resent one is not newer)."""

    current: Decision
    seen: frozenset[UUID]


@dataclass(frozen=True, slots=True)
class PersonState:
    cases: dict[str, Case] = field(default_factory=dict)
    reclassifications: dict[UUID, Reclassification] = field(default_factory=dict)
    endings: dict[SubmissionKey, Ending] = field(default_factory=dict)
    decisions: dict[SubmissionKey, ReturnDecisions] = field(default_factory=dict)


EMPTY = PersonState()

ProjectedEvent = CaseEvent | DecisionEvent


def apply(state: PersonState, event: ProjectedEvent) -> PersonState:
    """The person's state with ``event`` taken into account (unchanged when it was seen before)."""
    match event:
        case CaseOpenedEvent():
            return _with_case(state, event)
        case VoluntaryReturnEvent() | DetainedEvent() | CaseClosedEvent():
            return _with_ending(state, event)
        case CaseReclassifiedEvent():
            change = Reclassification(
                event.data.case_number, event.data.article.value, event.occurred_on, event.event_id
            )
            return replace(state, reclassifications={**state.reclassifications, event.event_id: change})
        case _:
            return _with_decision(state, event)


def _with_case(state: PersonState, event: CaseOpenedEvent) -> PersonState:
    data = event.data
    known = state.cases.get(data.case_number)
    # The same case opened twice: the one recorded first (the smaller UUID v7) wins, in any order.
    if known is not None and known.opened_by <= event.event_id:
        return state
    case = Case(
        data.case_number,
        data.article.value,
        data.region,
        data.absent_since,
        event.occurred_on,
        event.event_id,
    )
    return replace(state, cases={**state.cases, data.case_number: case})


def _with_ending(
    state: PersonState, event: VoluntaryReturnEvent | DetainedEvent | CaseClosedEvent
) -> PersonState:
    key = (event.submission.source, event.submission.submission_id)
    known = state.endings.get(key)
    if known is not None and known.event_id <= event.event_id:
        return state
    match event:
        case VoluntaryReturnEvent():
            ending = Ending(
                EndingKind.RETURN,
                event.occurred_on,
                event.data.case_number,
                event.data.region,
                event.event_id,
            )
        case DetainedEvent():
            ending = Ending(
                EndingKind.DETENTION,
                event.occurred_on,
                event.data.case_number,
                event.data.region,
                event.event_id,
            )
        case CaseClosedEvent():
            ending = Ending(
                EndingKind.CLOSURE, event.occurred_on, event.data.case_number, None, event.event_id
            )
    return replace(state, endings={**state.endings, key: ending})


def _with_decision(state: PersonState, event: DecisionEvent) -> PersonState:
    key = (event.submission.source, event.submission.submission_id)
    known = state.decisions.get(key)
    if known is not None and event.event_id in known.seen:
        return state
    decision = _decision(event, known.current if known is not None else None)
    seen = (known.seen if known is not None else frozenset()) | {event.event_id}
    return replace(state, decisions={**state.decisions, key: ReturnDecisions(decision, seen)})


def _decision(event: DecisionEvent, previous: Decision | None) -> Decision:
    on, event_id = event.occurred_on, event.event_id
    match event:
        case AmnestyGrantedEvent():
            return Decision(DecisionKind.GRANTED, on, event.data.regime, NO_LABEL, event_id)
        case AmnestyDeniedEvent():
            return Decision(DecisionKind.DENIED, on, NO_LABEL, event.data.reason.value, event_id)
        case EligibilityPendingEvent():
            return Decision(DecisionKind.PENDING, on, NO_LABEL, event.data.reason.value, event_id)
        case AmnestyRevokedEvent():
            grant = previous if previous is not None and previous.event_id == event.data.revokes else None
            regime = grant.regime if grant is not None else NO_LABEL
            return Decision(DecisionKind.REVOKED, on, regime, event.data.reason.value, event_id)
