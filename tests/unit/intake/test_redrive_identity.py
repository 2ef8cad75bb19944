"""Intake's upstream consumer knows a re-driven message by its outbox id, and nothing else by any id."""

from __future__ import annotations

from amnesty_eventstore.consumption import Delivery
from amnesty_intake.entrypoints.upstream_consumer import redrive_identity


def _delivery(*headers: tuple[str, bytes]) -> Delivery:
    return Delivery("upstream", 0, 7, b"k", b"{}", headers=headers)


def test_a_re_driven_message_is_known_by_its_event_id() -> None:
    delivery = _delivery(("event-id", b"0190c1d2-0000-7000-8000-000000000001"), ("redrive-of", b"r:1:2"))
    assert redrive_identity(delivery) == "redrive:0190c1d2-0000-7000-8000-000000000001"


def test_an_upstream_submission_has_no_identity_even_with_an_event_id_header() -> None:
    assert redrive_identity(_delivery()) is None
    assert redrive_identity(_delivery(("event-id", b"0190c1d2-0000-7000-8000-000000000001"))) is None
