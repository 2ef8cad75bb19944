"""Domain events in the contract's envelope, built with the contracts' models, for tests of consumers.

`EventFactory` numbers submissions and records everything at a fixed time, so that a test reads like the
story it tells: a case opened, a return, the decision on it.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from amnesty_contracts import (
    AmnestyDeniedData,
    AmnestyDeniedEvent,
    AmnestyGrantedData,
    AmnestyGrantedEvent,
    AmnestyRevokedData,
    AmnestyRevokedEvent,
    Article,
    CaseClosedData,
    CaseClosedEvent,
    CaseOpenedData,
    CaseOpenedEvent,
    CaseReclassifiedData,
    CaseReclassifiedEvent,
    Channel,
    DenialReason,
    DetainedData,
    DetainedEvent,
    EligibilityPendingData,
    EligibilityPendingEvent,
    Event,
    Outcome,
    PendingReason,
    SubmissionRef,
    VoluntaryReturnData,
    VoluntaryReturnEvent,
    new_event_id,
)

RECORDED_AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
CORRELATION = UUID("0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3")

Return = VoluntaryReturnEvent | DetainedEvent


def day(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@dataclass
class EventFactory:
    source: str = "test"
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    def _envelope(self, person: str, occurred_on: str | date, source: str | None = None) -> dict[str, Any]:
        return {
            "event_id": new_event_id(),
            "occurred_on": day(occurred_on),
            "recorded_at": RECORDED_AT,
            "person": person,
            "correlation_id": CORRELATION,
            "causation_id": CORRELATION,
            "submission": SubmissionRef(
                source=source or self.source, submission_id=f"s-{next(self._numbers)}"
            ),
        }

    def case_opened(
        self,
        person: str,
        case: str,
        registered_on: str | date,
        *,
        absent_since: str | date | None = None,
        region: str = "UA-48",
        article: str = "407",
    ) -> CaseOpenedEvent:
        registered = day(registered_on)
        data = CaseOpenedData(
            case_number=case,
            article=Article(article),
            absent_since=day(absent_since) if absent_since is not None else registered - timedelta(days=10),
            registered_on=registered,
            region=region,
        )
        return CaseOpenedEvent(**self._envelope(person, registered), data=data)

    def voluntary_return(
        self, person: str, returned_on: str | date, *, case: str | None = None, region: str | None = None
    ) -> VoluntaryReturnEvent:
        data = VoluntaryReturnData(
            returned_on=day(returned_on),
            channel=Channel.ARMY_PLUS,
            case_number=case,
            region=region,
        )
        return VoluntaryReturnEvent(**self._envelope(person, returned_on), data=data)

    def detained(
        self, person: str, detained_on: str | date, *, case: str | None = None, region: str | None = None
    ) -> DetainedEvent:
        data = DetainedData(detained_on=day(detained_on), case_number=case, region=region)
        return DetainedEvent(**self._envelope(person, detained_on), data=data)

    def reclassified(self, person: str, case: str, article: str, on: str | date) -> CaseReclassifiedEvent:
        data = CaseReclassifiedData(case_number=case, article=Article(article), reclassified_on=day(on))
        return CaseReclassifiedEvent(**self._envelope(person, on), data=data)

    def closed(self, person: str, case: str, on: str | date) -> CaseClosedEvent:
        data = CaseClosedData(case_number=case, closed_on=day(on), outcome=Outcome.RELEASED)
        return CaseClosedEvent(**self._envelope(person, on), data=data)

    @staticmethod
    def _decided(ret: Return) -> dict[str, Any]:
        return {
            "event_id": new_event_id(),
            "occurred_on": ret.occurred_on,
            "recorded_at": RECORDED_AT,
            "person": ret.person,
            "correlation_id": ret.correlation_id,
            "causation_id": ret.event_id,
            "submission": ret.submission,
        }

    def granted(self, ret: Return, regime: str = "window-1") -> AmnestyGrantedEvent:
        data = AmnestyGrantedData(
            regime=regime,
            rule_set="test",
            returned_on=ret.occurred_on,
            reinstate_by=datetime.combine(ret.occurred_on, datetime.min.time(), UTC) + timedelta(hours=72),
            facts={},
        )
        return AmnestyGrantedEvent(**self._decided(ret), data=data)

    def denied(self, ret: Return, reason: str = "outside-window") -> AmnestyDeniedEvent:
        data = AmnestyDeniedData(
            reason=DenialReason(reason), rule_set="test", returned_on=ret.occurred_on, facts={}
        )
        return AmnestyDeniedEvent(**self._decided(ret), data=data)

    def pending(self, ret: Return) -> EligibilityPendingEvent:
        data = EligibilityPendingData(reason=PendingReason.CASE_UNKNOWN, returned_on=ret.occurred_on)
        return EligibilityPendingEvent(**self._decided(ret), data=data)

    def revoked(
        self, ret: Return, grant: AmnestyGrantedEvent, reason: str = "repeat-offence"
    ) -> AmnestyRevokedEvent:
        data = AmnestyRevokedData(
            reason=DenialReason(reason), revokes=grant.event_id, rule_set="test", facts={}
        )
        return AmnestyRevokedEvent(**self._decided(ret), data=data)


def encoded(event: Event) -> bytes:
    """The event as its producer's outbox relay publishes it: the model's JSON."""
    return json.dumps(event.model_dump(mode="json")).encode()
