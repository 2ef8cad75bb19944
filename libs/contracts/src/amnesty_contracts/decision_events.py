"""What eligibility decides on `amnesty.decisions.v1`, one decision per voluntary return."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal

from pydantic import Field, JsonValue, TypeAdapter

from amnesty_contracts.dates import IsoDate, Timestamp
from amnesty_contracts.events import Event, EventModel
from amnesty_contracts.field_types import EventId, RegimeId, RuleSetVersion


class DenialReason(StrEnum):
    """Why a voluntary return earns no amnesty (docs/domain.md, section 3)."""

    REPEAT_OFFENCE = "repeat-offence"
    NOT_VOLUNTARY = "not-voluntary"
    OUTSIDE_WINDOW = "outside-window"


class PendingReason(StrEnum):
    """Why a return cannot be decided yet."""

    CASE_UNKNOWN = "case-unknown"


Facts = Annotated[
    dict[str, JsonValue],
    Field(description="the facts the rules used (dates, prior cases), so that the decision explains itself"),
]


class AmnestyGrantedData(EventModel):
    """The `data` of an `AmnestyGranted` decision."""

    regime: RegimeId
    rule_set: RuleSetVersion
    returned_on: IsoDate
    reinstate_by: Timestamp = Field(description="deadline to restore pay and guarantees: return + 72 h")
    facts: Facts


class AmnestyDeniedData(EventModel):
    """The `data` of an `AmnestyDenied` decision."""

    reason: DenialReason
    rule_set: RuleSetVersion
    returned_on: IsoDate
    facts: Facts


class EligibilityPendingData(EventModel):
    """The `data` of an `EligibilityPending` decision."""

    reason: PendingReason
    returned_on: IsoDate


class AmnestyRevokedData(EventModel):
    """The `data` of an `AmnestyRevoked` decision."""

    # A revocation is a grant that late facts turned into a denial, so it gives the denial's reason.
    reason: DenialReason
    revokes: EventId = Field(description="event_id of the AmnestyGranted decision revoked")
    rule_set: RuleSetVersion
    facts: Facts


class AmnestyGrantedEvent(Event):
    """The return falls in a regime's window: reinstated at once."""

    type: Literal["AmnestyGranted"] = "AmnestyGranted"
    data: AmnestyGrantedData


class AmnestyDeniedEvent(Event):
    """The return earns no amnesty, for the reason given."""

    type: Literal["AmnestyDenied"] = "AmnestyDenied"
    data: AmnestyDeniedData


class EligibilityPendingEvent(Event):
    """The return is waiting for the case it belongs to."""

    type: Literal["EligibilityPending"] = "EligibilityPending"
    data: EligibilityPendingData


class AmnestyRevokedEvent(Event):
    """An earlier grant no longer holds; decisions are never edited, this one supersedes it."""

    type: Literal["AmnestyRevoked"] = "AmnestyRevoked"
    data: AmnestyRevokedData


_AnyDecisionEvent = AmnestyGrantedEvent | AmnestyDeniedEvent | EligibilityPendingEvent | AmnestyRevokedEvent

DecisionEvent = Annotated[_AnyDecisionEvent, Field(discriminator="type")]
"""Any event of `amnesty.decisions.v1`; `type` tells which."""

DECISION_EVENT_MODELS: Final[Mapping[str, type[_AnyDecisionEvent]]] = MappingProxyType(
    {
        "AmnestyGranted": AmnestyGrantedEvent,
        "AmnestyDenied": AmnestyDeniedEvent,
        "EligibilityPending": EligibilityPendingEvent,
        "AmnestyRevoked": AmnestyRevokedEvent,
    }
)

DECISION_EVENT_ADAPTER: Final[TypeAdapter[DecisionEvent]] = TypeAdapter(DecisionEvent)
_DECISION_EVENTS: Final[TypeAdapter[list[DecisionEvent]]] = TypeAdapter(list[DecisionEvent])


def decision_event_documents(events: Sequence[DecisionEvent]) -> list[dict[str, Any]]:
    """Each event as ``model_dump(mode="json")`` gives it, all in one serializer call: a batch's events
    dumped at once cost half of one call per event."""
    return _DECISION_EVENTS.dump_python(list(events), mode="json")  # type: ignore[no-any-return]
