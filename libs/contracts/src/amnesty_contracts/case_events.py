"""The facts intake records on `amnesty.cases.v1`, one per accepted submission, pseudonymized."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from amnesty_contracts.dates import IsoDate, Timestamp
from amnesty_contracts.events import Event, EventModel
from amnesty_contracts.field_types import Article, ArticlePart, Branch, Channel, Outcome, Pseudonym
from amnesty_contracts.regions import RegionCode
from amnesty_contracts.submissions import Submission

# The data models repeat the submissions' fields minus the identity ones (type, source, submission_id,
# person_id, which the envelope carries) with the case number and the unit pseudonymized, and without
# the "not in the future" check: a recorded fact stays valid whatever the reader's clock says.


class CaseOpenedData(EventModel):
    """The `data` of a `CaseOpened` event."""

    case_number: Pseudonym
    article: Article
    article_part: ArticlePart | None = None
    absent_since: IsoDate
    registered_on: IsoDate
    region: RegionCode
    unit: Pseudonym | None = None
    branch: Branch | None = None


class VoluntaryReturnData(EventModel):
    """The `data` of a `VoluntaryReturn` event."""

    returned_on: IsoDate
    channel: Channel
    case_number: Pseudonym | None = None
    region: RegionCode | None = None
    unit: Pseudonym | None = None


class DetainedData(EventModel):
    """The `data` of a `Detained` event."""

    detained_on: IsoDate
    case_number: Pseudonym | None = None
    region: RegionCode | None = None


class CaseReclassifiedData(EventModel):
    """The `data` of a `CaseReclassified` event."""

    case_number: Pseudonym
    article: Article
    reclassified_on: IsoDate


class CaseClosedData(EventModel):
    """The `data` of a `CaseClosed` event."""

    case_number: Pseudonym
    closed_on: IsoDate
    outcome: Outcome


class CaseOpenedEvent(Event):
    """A case was opened (occurred_on: its registration date)."""

    type: Literal["CaseOpened"] = "CaseOpened"
    data: CaseOpenedData


class VoluntaryReturnEvent(Event):
    """A voluntary return was reported (occurred_on: the return date)."""

    type: Literal["VoluntaryReturn"] = "VoluntaryReturn"
    data: VoluntaryReturnData


class DetainedEvent(Event):
    """A detention was reported (occurred_on: the detention date)."""

    type: Literal["Detained"] = "Detained"
    data: DetainedData


class CaseReclassifiedEvent(Event):
    """A case changed article (occurred_on: the reclassification date)."""

    type: Literal["CaseReclassified"] = "CaseReclassified"
    data: CaseReclassifiedData


class CaseClosedEvent(Event):
    """A case was closed (occurred_on: the closing date)."""

    type: Literal["CaseClosed"] = "CaseClosed"
    data: CaseClosedData


_AnyCaseEvent = (
    CaseOpenedEvent | VoluntaryReturnEvent | DetainedEvent | CaseReclassifiedEvent | CaseClosedEvent
)

CaseEvent = Annotated[_AnyCaseEvent, Field(discriminator="type")]
"""Any event of `amnesty.cases.v1`; `type` tells which."""

CASE_EVENT_MODELS: Final[Mapping[str, type[_AnyCaseEvent]]] = MappingProxyType(
    {
        "CaseOpened": CaseOpenedEvent,
        "VoluntaryReturn": VoluntaryReturnEvent,
        "Detained": DetainedEvent,
        "CaseReclassified": CaseReclassifiedEvent,
        "CaseClosed": CaseClosedEvent,
    }
)

CASE_EVENT_ADAPTER: Final[TypeAdapter[CaseEvent]] = TypeAdapter(CaseEvent)
_CASE_EVENTS: Final[TypeAdapter[list[CaseEvent]]] = TypeAdapter(list[CaseEvent])


def case_event_documents(events: Sequence[CaseEvent]) -> list[dict[str, Any]]:
    """Each event as ``model_dump(mode="json")`` gives it, all in one serializer call: a batch's events
    dumped at once cost half of one call per event."""
    return _CASE_EVENTS.dump_python(list(events), mode="json")  # type: ignore[no-any-return]


def case_event_document(
    submission: Submission,
    *,
    person: str,
    pseudonymize_case: Callable[[str], str],
    pseudonymize_submission_id: Callable[[str], str],
    pseudonymize_unit: Callable[[str], str],
    recorded_at: datetime,
    correlation_id: UUID,
    causation_id: UUID,
    event_id: UUID,
) -> dict[str, Any]:
    """Record a valid submission as its case event, with the raw identifiers replaced by pseudonyms: the
    event's JSON document, as ``model_dump(mode="json")`` of the event gives it.

    `person` is the person's pseudonym (the caller needs it anyway as the Kafka key);
    `pseudonymize_case` maps a raw case number to its pseudonym; `pseudonymize_submission_id` and
    `pseudonymize_unit` do the same for the sender's free-text fields, which could otherwise carry a name
    or a phone number past intake (a pattern narrows them but cannot tell a name from a record id).
    Keyed digests keep what consumers need: equal values stay equal. The business date is the submission's
    own (`occurred_on`), so late submissions land in the period they belong to.

    A document, not a model: intake stores and publishes it as it is, and validating an event built
    from a submission that was just validated cost intake a quarter of its time per submission
    (``CASE_EVENT_ADAPTER.validate_python`` makes the model of it, where one is wanted). The ``data``
    takes the submission's values of the data model's fields only, already checked (the data models
    repeat the submissions' fields), so a field added to a submission reaches no event until its data
    model lists it too. What the caller gives is not checked again: the pseudonyms against their
    pattern, the event id, the instant (beyond being aware). A unit test holds the document to the
    model: validated and dumped again, it comes back unchanged, for every type.
    """
    data = submission.model_dump(mode="json", include=_DATA_FIELDS[submission.type])
    if data.get("case_number") is not None:
        data["case_number"] = pseudonymize_case(data["case_number"])
    if data.get("unit") is not None:
        data["unit"] = pseudonymize_unit(data["unit"])
    correlation = str(correlation_id)  # a UUID's text costs microseconds: intake's two ids are one
    return {
        "event_id": str(event_id),
        "type": submission.type,
        "schema_version": _SCHEMA_VERSIONS[submission.type],
        "occurred_on": submission.occurred_on.isoformat(),
        "recorded_at": _instant(recorded_at, recorded_at.utcoffset()),
        "person": person,
        "correlation_id": correlation,
        "causation_id": correlation if causation_id == correlation_id else str(causation_id),
        "submission": {
            "source": submission.source,
            "submission_id": pseudonymize_submission_id(submission.submission_id),
        },
        "data": data,
    }


_SCHEMA_VERSIONS: Final = {t: m.model_fields["schema_version"].default for t, m in CASE_EVENT_MODELS.items()}
_DATA_FIELDS: Final = {
    # Sets (not frozensets): pydantic's fast path for include, half the cost per call.
    t: set(m.model_fields["data"].annotation.model_fields)  # type: ignore[union-attr]
    for t, m in CASE_EVENT_MODELS.items()
}
_INSTANT: Final[TypeAdapter[datetime]] = TypeAdapter(Timestamp)


@lru_cache(maxsize=1)  # a batch's events share their instant
def _instant(recorded_at: datetime, offset: timedelta | None) -> str:
    """The envelope's ``recorded_at`` in pydantic's JSON form; a naive instant is refused. ``offset`` is
    ``recorded_at``'s own, in the cache's key: one instant at two offsets is equal, and written twice."""
    return str(_INSTANT.dump_python(_INSTANT.validate_python(recorded_at), mode="json"))
