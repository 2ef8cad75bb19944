"""The consumer knows a case event by its event id: the relay's header, else the body."""

from __future__ import annotations

from amnesty_eventstore.consumption import Delivery
from amnesty_eventstore.identity import message_identity

EVENT_ID = "01974a2e-5c00-7a1b-8c3d-4e5f60718293"


def _delivery(value: bytes, headers: tuple[tuple[str, bytes], ...] = ()) -> Delivery:
    return Delivery("amnesty.cases.v1", 0, 7, b"p", value, headers=headers)


def test_the_header_names_the_event() -> None:
    assert message_identity(_delivery(b"not even json", (("event-id", EVENT_ID.encode()),))) == EVENT_ID


def test_without_the_header_the_body_names_it_in_one_spelling() -> None:
    assert message_identity(_delivery(f'{{"event_id": "{EVENT_ID.upper()}"}}'.encode())) == EVENT_ID


def test_a_message_without_an_identity_has_none() -> None:
    assert message_identity(_delivery(b"\xff\xfe")) is None
    assert message_identity(_delivery(b'{"event_id": 7}')) is None
