"""Case events of one person, built the way intake records them, for the domain tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final
from uuid import UUID

from amnesty_contracts import (
    Article,
    CaseClosedData,
    CaseClosedEvent,
    CaseOpenedData,
    CaseOpenedEvent,
    CaseReclassifiedData,
    CaseReclassifiedEvent,
    Channel,
    DetainedData,
    DetainedEvent,
    SubmissionRef,
    VoluntaryReturnData,
    VoluntaryReturnEvent,
    new_event_id,
)
from amnesty_contracts.field_types import Outcome as CaseOutcome
from amnesty_eligibility.adapters.rule_files import load_packaged_rule_set
from amnesty_eligibility.settings import ACTIVE_RULE_SET

PERSON: Final = "p_4f1c9a0b7d2e"
RECORDED_AT: Final = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
RULES: Final = load_packaged_rule_set(ACTIVE_RULE_SET)
NOW: Final = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def day(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _envelope(
    source: str, submission_id: str, on: str | date, event_id: UUID | None, person: str
) -> dict[str, object]:
    eid = event_id or new_event_id()
    return {
        "event_id": eid,
        "occurred_on": day(on),
        "recorded_at": RECORDED_AT,
        "person": person,
        "correlation_id": eid,
        "causation_id": eid,
        "submission": SubmissionRef(source=source, submission_id=submission_id),
    }


def opened(
    case: str = "c1",
    absent_since: str | date = "2025-03-01",
    *,
    registered_on: str | date | None = None,
    article: Article = Article.UNAUTHORIZED_ABSENCE,
    event_id: UUID | None = None,
    person: str = PERSON,
) -> CaseOpenedEvent:
    registered = day(registered_on) if registered_on is not None else day(absent_since)
    data = CaseOpenedData(
        case_number=case,
        article=article,
        absent_since=day(absent_since),
        registered_on=registered,
        region="UA-48",
    )
    return CaseOpenedEvent.model_validate(
        {**_envelope("erdr", f"open-{case}", registered, event_id, person), "data": data}
    )


def returned(
    on: str | date,
    *,
    submission: str = "r1",
    case: str | None = None,
    channel: Channel = Channel.ARMY_PLUS,
    event_id: UUID | None = None,
    person: str = PERSON,
) -> VoluntaryReturnEvent:
    data = VoluntaryReturnData(returned_on=day(on), channel=channel, case_number=case)
    return VoluntaryReturnEvent.model_validate(
        {**_envelope("army-plus", submission, on, event_id, person), "data": data}
    )


def detained(
    on: str | date,
    *,
    submission: str = "d1",
    case: str | None = None,
    event_id: UUID | None = None,
    person: str = PERSON,
) -> DetainedEvent:
    data = DetainedData(detained_on=day(on), case_number=case)
    return DetainedEvent.model_validate(
        {**_envelope("military-police", submission, on, event_id, person), "data": data}
    )


def reclassified(
    case: str, article: Article, on: str | date, *, event_id: UUID | None = None
) -> CaseReclassifiedEvent:
    data = CaseReclassifiedData(case_number=case, article=article, reclassified_on=day(on))
    return CaseReclassifiedEvent.model_validate(
        {**_envelope("erdr", f"reclassify-{case}-{on}", on, event_id, PERSON), "data": data}
    )


def closed(case: str, on: str | date, outcome: CaseOutcome = CaseOutcome.RELEASED) -> CaseClosedEvent:
    data = CaseClosedData(case_number=case, closed_on=day(on), outcome=outcome)
    return CaseClosedEvent.model_validate(
        {**_envelope("erdr", f"close-{case}", on, None, PERSON), "data": data}
    )
