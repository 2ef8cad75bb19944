"""A person as the service sees them: their history and the decisions emitted so far.

`handle` takes one case event and answers the decision events it calls for. Taking events one at a
time makes the decisions a function of the person's event sequence alone, whatever batches the
consumer happened to read them in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import TypedDict
from uuid import UUID

from amnesty_contracts import (
    AmnestyDeniedData,
    AmnestyDeniedEvent,
    AmnestyGrantedData,
    AmnestyGrantedEvent,
    AmnestyRevokedData,
    AmnestyRevokedEvent,
    CaseEvent,
    DecisionEvent,
    EligibilityPendingData,
    EligibilityPendingEvent,
    SubmissionRef,
)
from amnesty_eligibility.domain.decisions import Denied, Granted, decide
from amnesty_eligibility.domain.history import PersonHistory, apply, fold
from amnesty_eligibility.domain.ledger import Change, Ledger, reconcile, record_all
from amnesty_eligibility.domain.regimes import RuleSet


@dataclass(frozen=True, slots=True)
class Person:
    history: PersonHistory
    ledger: Ledger = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def replay(
        cls, person: str, case_events: Sequence[CaseEvent], decisions: Sequence[DecisionEvent]
    ) -> Person:
        """The person as their recorded stream left them."""
        return cls(fold(person, case_events), record_all(MappingProxyType({}), decisions))

    def handle(
        self, event: CaseEvent, rules: RuleSet, *, now: datetime, new_id: Callable[[], UUID]
    ) -> tuple[Person, list[DecisionEvent]]:
        """Take `event` into account; the decisions that change are answered (none for a known event)."""
        if event.event_id in self.history.seen:
            return self, []
        history = apply(self.history, event)
        emitted = [
            decision_event(change, cause=event, rule_set=rules.version, event_id=new_id(), recorded_at=now)
            for change in reconcile(self.ledger, decide(history, rules))
        ]
        return Person(history, record_all(self.ledger, emitted)), emitted


class _Envelope(TypedDict):
    event_id: UUID
    occurred_on: date
    recorded_at: datetime
    person: str
    correlation_id: UUID
    causation_id: UUID
    submission: SubmissionRef


def decision_event(
    change: Change, *, cause: CaseEvent, rule_set: str, event_id: UUID, recorded_at: datetime
) -> DecisionEvent:
    """The contract's event for a change: about its return (submission, business date, correlation),
    caused by the case event that changed the history.
    """
    ret = change.decision.ret
    envelope = _Envelope(
        event_id=event_id,
        occurred_on=ret.returned_on,
        recorded_at=recorded_at,
        person=cause.person,
        correlation_id=ret.correlation_id,
        causation_id=cause.event_id,
        submission=ret.submission,
    )
    decision = change.decision.decision
    if isinstance(decision, Granted):
        data = AmnestyGrantedData(
            regime=decision.regime,
            rule_set=rule_set,
            returned_on=ret.returned_on,
            reinstate_by=decision.reinstate_by,
            facts=decision.facts,
        )
        return AmnestyGrantedEvent(**envelope, data=data)
    if isinstance(decision, Denied) and change.revokes is not None:
        revoked = AmnestyRevokedData(
            reason=decision.reason, revokes=change.revokes, rule_set=rule_set, facts=decision.facts
        )
        return AmnestyRevokedEvent(**envelope, data=revoked)
    if isinstance(decision, Denied):
        denied = AmnestyDeniedData(
            reason=decision.reason, rule_set=rule_set, returned_on=ret.returned_on, facts=decision.facts
        )
        return AmnestyDeniedEvent(**envelope, data=denied)
    return EligibilityPendingEvent(
        **envelope, data=EligibilityPendingData(reason=decision.reason, returned_on=ret.returned_on)
    )
