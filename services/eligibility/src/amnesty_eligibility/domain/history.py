"""A person's history: what the case events say about their cases and returns, as a fold.

The fold is order-free: the state depends on the set of events received, not on their arrival order,
so a late event lands where it belongs. Where two events could disagree, one wins by a fixed rule: of a
case opened twice, the opening with the earlier absence (an absence only ever turns out to have begun
earlier, so a return once matched to a case stays matched); of a return reported twice under one
submission, the one intake recorded first (the smaller UUID v7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType
from uuid import UUID

from amnesty_contracts import (
    Article,
    CaseClosedEvent,
    CaseEvent,
    CaseOpenedEvent,
    CaseReclassifiedEvent,
    Channel,
    DetainedEvent,
    SubmissionRef,
    VoluntaryReturnEvent,
)

ReturnKey = tuple[str, str]
"""(source, submission_id) of a return's submission: decisions name the return they decide by it."""


@dataclass(frozen=True, slots=True)
class Case:
    """An offence: a 407/408 proceeding opened for an absence."""

    number: str
    article: Article
    absent_since: date
    registered_on: date
    opened_by: UUID


@dataclass(frozen=True, slots=True)
class Reclassification:
    """A case moved to another article; kept apart from the case, which may not have arrived yet."""

    case_number: str
    article: Article
    reclassified_on: date
    event_id: UUID


@dataclass(frozen=True, slots=True)
class Return:
    """The end of an absence: a voluntary return, or a detention."""

    submission: SubmissionRef
    event_id: UUID
    correlation_id: UUID
    returned_on: date
    voluntary: bool
    channel: Channel | None
    case_number: str | None

    @property
    def key(self) -> ReturnKey:
        return (self.submission.source, self.submission.submission_id)


@dataclass(frozen=True, slots=True)
class PersonHistory:
    """Everything known about one person (by pseudonym) from the case events received so far."""

    person: str
    cases: Mapping[str, Case] = field(default_factory=lambda: MappingProxyType({}))
    reclassifications: tuple[Reclassification, ...] = ()
    returns: Mapping[ReturnKey, Return] = field(default_factory=lambda: MappingProxyType({}))
    seen: frozenset[UUID] = frozenset()

    def article_of(self, case: Case) -> Article:
        """The case's article after the latest reclassification known (by date, then by record order)."""
        latest = max(
            (r for r in self.reclassifications if r.case_number == case.number),
            key=lambda r: (r.reclassified_on, r.event_id),
            default=None,
        )
        return case.article if latest is None else latest.article


def apply(history: PersonHistory, event: CaseEvent) -> PersonHistory:
    """The history with `event` taken into account; an event already seen changes nothing."""
    if event.event_id in history.seen:
        return history
    seen = history.seen | {event.event_id}
    match event:
        case CaseOpenedEvent():
            return replace(history, cases=_with_case(history.cases, event), seen=seen)
        case VoluntaryReturnEvent() | DetainedEvent():
            return replace(history, returns=_with_return(history.returns, _return(event)), seen=seen)
        case CaseReclassifiedEvent():
            change = Reclassification(
                event.data.case_number, event.data.article, event.data.reclassified_on, event.event_id
            )
            return replace(history, reclassifications=(*history.reclassifications, change), seen=seen)
        case CaseClosedEvent():
            # A closing (release by a court, a conviction) decides no return: kept as a fact, not used.
            return replace(history, seen=seen)


def fold(person: str, events: Iterable[CaseEvent]) -> PersonHistory:
    """The history of `person` from `events`, in any order."""
    history = PersonHistory(person)
    for event in events:
        history = apply(history, event)
    return history


def _with_case(cases: Mapping[str, Case], event: CaseOpenedEvent) -> Mapping[str, Case]:
    data = event.data
    known = cases.get(data.case_number)
    if known is not None and (known.absent_since, known.opened_by) < (data.absent_since, event.event_id):
        return cases
    case = Case(data.case_number, data.article, data.absent_since, data.registered_on, event.event_id)
    return MappingProxyType({**cases, data.case_number: case})


def _with_return(returns: Mapping[ReturnKey, Return], new: Return) -> Mapping[ReturnKey, Return]:
    known = returns.get(new.key)
    if known is not None and known.event_id < new.event_id:
        return returns
    return MappingProxyType({**returns, new.key: new})


def _return(event: VoluntaryReturnEvent | DetainedEvent) -> Return:
    if isinstance(event, VoluntaryReturnEvent):
        returned_on, voluntary, channel = event.data.returned_on, True, event.data.channel
    else:
        returned_on, voluntary, channel = event.data.detained_on, False, None
    return Return(
        submission=event.submission,
        event_id=event.event_id,
        correlation_id=event.correlation_id,
        returned_on=returned_on,
        voluntary=voluntary,
        channel=channel,
        case_number=event.data.case_number,
    )
