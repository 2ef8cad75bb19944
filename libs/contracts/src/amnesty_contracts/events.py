"""The envelope every domain event travels in, on `amnesty.cases.v1` and `amnesty.decisions.v1`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import uuid_utils.compat
from pydantic import BaseModel, ConfigDict, Field

from amnesty_contracts.dates import IsoDate, Timestamp
from amnesty_contracts.field_types import EventId, Pseudonym, SourceName, SubmissionId

SchemaVersion = Annotated[int, Field(strict=True, ge=1, description="version of the event's shape")]


class EventModel(BaseModel):
    """The base of the envelope and of every `data` model: immutable, tolerant of newer fields."""

    # Events are facts: frozen. Unknown fields are ignored so that an older consumer keeps reading events
    # that a newer producer extended (the contract only grows by adding optional fields). Dates serialize
    # as YYYY-MM-DD, instants as RFC 3339 with their offset and UUIDs as strings, pydantic's JSON defaults.
    # In the generated JSON Schema every field with a default is required: producers always write them.
    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_serialization_defaults_required=True)


def new_event_id() -> UUID:
    """Return a fresh UUID v7: unique, and ordered by creation time (good for index locality)."""
    return uuid_utils.compat.uuid7()


class SubmissionRef(EventModel):
    """The upstream submission behind an event: its idempotency key."""

    source: SourceName
    submission_id: SubmissionId


class Event(EventModel):
    """The fields every domain event has; a concrete event adds its `type` literal and its `data`."""

    event_id: EventId = Field(default_factory=new_event_id)
    type: str
    schema_version: SchemaVersion = 1
    occurred_on: IsoDate = Field(description="business date: when it happened in the world")
    recorded_at: Timestamp = Field(description="when this system recorded it")
    person: Pseudonym = Field(description="the person pseudonym, also the Kafka key")
    correlation_id: UUID = Field(description="the chain back to the submission that started it")
    causation_id: UUID = Field(description="the message that directly caused this one")
    submission: SubmissionRef
