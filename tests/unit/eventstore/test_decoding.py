"""Rows of the read statements become RecordedEvents; old payloads are upcast, current ones untouched."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from amnesty_eventstore import Checkpoint, RecordedEvent, Upcasters
from amnesty_eventstore.reading import decode_rows

RECORDED_AT = datetime(2025, 5, 4, 10, 11, 12, tzinfo=UTC)


def row(position: int, event_type: str, version: int, data: str, metadata: str = "{}") -> tuple[Any, ...]:
    """A row as the read statements select it: the day and the instant as days and microseconds since
    the Unix epoch."""
    days = (date(2025, 5, 3) - date(1970, 1, 1)).days
    micros = (RECORDED_AT - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return (position, 900 + position, "person-1", position, uuid.UUID(int=position), event_type, version,
            days, micros, data, metadata)  # fmt: skip


def test_rows_are_decoded_with_their_payloads() -> None:
    (event,) = decode_rows([row(1, "CaseOpened", 1, '{"a": [1, 2]}', '{"correlation_id": "c"}')])
    assert event == RecordedEvent(
        1, 901, "person-1", 1, uuid.UUID(int=1), "CaseOpened", 1, date(2025, 5, 3), RECORDED_AT,
        {"a": [1, 2]}, {"correlation_id": "c"},
    )  # fmt: skip
    assert event.checkpoint == Checkpoint(901, 1)


def test_only_payloads_older_than_current_are_upcast() -> None:
    upcasters = Upcasters()
    upcasters.register("CaseOpened", 1, lambda payload: {**payload, "upcast": True})
    old, current, other = decode_rows(
        [row(1, "CaseOpened", 1, "{}"), row(2, "CaseOpened", 2, "{}"), row(3, "Detained", 1, "{}")], upcasters
    )
    assert (old.schema_version, old.data) == (2, {"upcast": True})
    assert (current.schema_version, current.data) == (2, {})
    assert (other.schema_version, other.data) == (1, {})


def test_each_event_gets_its_own_metadata_dict() -> None:
    first, second = decode_rows([row(1, "A", 1, "{}"), row(2, "A", 1, "{}")])
    assert first.metadata == second.metadata == {}
    assert first.metadata is not second.metadata


def test_an_event_without_a_day_has_none() -> None:
    (event,) = decode_rows([(*row(1, "A", 1, "{}")[:7], None, *row(1, "A", 1, "{}")[8:])])
    assert event.occurred_on is None
    assert event.recorded_at == RECORDED_AT
