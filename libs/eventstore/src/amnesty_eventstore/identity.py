"""A domain event's message identity: the event id, by which every consumer drops a redelivered message.

The outbox relay puts it in the ``event-id`` header of every message it publishes; a message without
the header (published by other means) is known by its body's ``event_id``.
"""

from __future__ import annotations

from uuid import UUID

from amnesty_contracts import parse_json_document
from amnesty_eventstore.consumption import Delivery

EVENT_ID_HEADER = "event-id"


def message_identity(delivery: Delivery) -> str | None:
    """The event id: from the relay's header, else from the body; None when it has neither."""
    for name, value in delivery.headers:
        if name == EVENT_ID_HEADER:
            return _normalised(value.decode("utf-8", errors="replace"))
    document = parse_json_document(delivery.value)
    if isinstance(document, dict) and isinstance(event_id := document.get("event_id"), str):
        return _normalised(event_id)
    return None


def _normalised(event_id: str) -> str:
    # One spelling per id, so a header and a body naming the same event give the same identity.
    try:
        return str(UUID(event_id))
    except ValueError:
        return event_id
