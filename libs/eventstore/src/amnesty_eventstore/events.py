"""The values the event store takes and gives: events to append, recorded events, append results."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, NamedTuple
from uuid import UUID

import orjson

from amnesty_eventstore.checkpoints import Checkpoint


class StreamState(enum.Enum):
    """Expectations about a stream that are not an exact version."""

    ANY = "any"
    NO_STREAM = "no stream"

    def __str__(self) -> str:
        return self.value


ANY: Final = StreamState.ANY
"""Append whatever the stream's version."""
NO_STREAM: Final = StreamState.NO_STREAM
"""Append only if the stream has no events yet."""

ExpectedVersion = int | StreamState
"""The stream's version (its number of events) the append expects, or ANY / NO_STREAM."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append.

    ``data`` is the payload, for this system the whole JSON envelope of the contract, or that payload's
    JSON bytes as they arrived (a fact kept as received, not decoded and encoded again; they must be
    one JSON object). With a ``topic``, the same transaction writes an outbox message: the payload's
    JSON bytes under ``key`` (the Kafka key, e.g. the person pseudonym) with ``headers``. A retry is
    recognised by ``event_id`` with the same stream, type, schema version and data (compared as JSON,
    whichever form it came in); ``metadata`` (tracing context) is not compared.
    """

    event_id: UUID
    type: str
    data: Mapping[str, Any] | bytes
    schema_version: int = 1
    occurred_on: date | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    topic: str | None = None
    key: bytes | str | None = None
    headers: Mapping[str, str] | None = None

    @property
    def document(self) -> Mapping[str, Any]:
        """The payload as a mapping, whichever form it was given in."""
        return orjson.loads(self.data) if isinstance(self.data, bytes) else self.data

    def payload_json(self) -> bytes:
        """The payload's JSON bytes: as given, or encoded once."""
        return self.data if isinstance(self.data, bytes) else orjson.dumps(self.data)


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One append: events for one stream, all or none, if the stream is at the expected version."""

    stream_id: str
    events: Sequence[NewEvent]
    expected_version: ExpectedVersion = ANY


@dataclass(frozen=True, slots=True)
class AppendResult:
    """The stream versions an append wrote; ``last_version`` is the next append's expected version.

    A retried append that is already done returns its original result.
    """

    stream_id: str
    first_version: int
    last_version: int


class RecordedEvent(NamedTuple):
    """An event as stored, its payload brought to its type's current version by the upcasters.

    A named tuple rather than a frozen dataclass: catch-up builds hundreds of thousands per second,
    and this is the cheapest immutable record to build.
    """

    position: int
    transaction_id: int
    stream_id: str
    stream_version: int
    event_id: UUID
    type: str
    schema_version: int
    occurred_on: date | None
    recorded_at: datetime
    data: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def checkpoint(self) -> Checkpoint:
        """The checkpoint of a reader that has seen this event."""
        return Checkpoint(self.transaction_id, self.position)
