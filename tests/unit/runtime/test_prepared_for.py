"""prepared_for pairs the deliveries left to apply with what prepare made of them, by identity."""

from __future__ import annotations

import pytest

from amnesty_eventstore.consumption import Delivery
from amnesty_runtime.policy import prepared_for


def _delivery(offset: int) -> Delivery:
    return Delivery(topic="t", partition=0, offset=offset, key=None, value=b"{}")


def test_a_subsequence_gets_its_own_prepared_entries_in_order() -> None:
    deliveries = [_delivery(n) for n in range(5)]
    prepared = [(d, f"event-{d.offset}") for d in deliveries]
    kept = [deliveries[1], deliveries[3], deliveries[4]]
    assert prepared_for(prepared, kept) == [(d, f"event-{d.offset}") for d in kept]
    assert prepared_for(prepared, []) == []


def test_equal_deliveries_are_told_apart_by_identity() -> None:
    # The in-memory test broker gives every record offset 0: equal fields, different messages.
    first, second = _delivery(0), _delivery(0)
    assert prepared_for([(first, "a"), (second, "b")], [second]) == [(second, "b")]


def test_a_delivery_never_prepared_fails_loudly() -> None:
    deliveries = [_delivery(n) for n in range(3)]
    prepared = [(d, d.offset) for d in deliveries]
    with pytest.raises(LookupError):
        prepared_for(prepared, [_delivery(1)])  # an equal copy is not the prepared object
    with pytest.raises(LookupError):
        prepared_for(prepared, [deliveries[2], deliveries[0]])  # not in the prepared order
