"""The pure part of effectively-once consumption: what a batch still has to apply."""

from __future__ import annotations

import pytest

from amnesty_eventstore.consumption import Delivery, select_unapplied


def _d(partition: int, offset: int) -> Delivery:
    return Delivery("t", partition, offset, None, b"{}")


@pytest.mark.parametrize(
    ("checkpoints", "fresh_offsets", "replayed", "next_offsets"),
    [
        ({}, [(0, 0), (0, 1), (1, 5)], 0, {("t", 0): 2, ("t", 1): 6}),
        ({("t", 0): 1}, [(0, 1), (1, 5)], 1, {("t", 0): 2, ("t", 1): 6}),
        ({("t", 0): 2, ("t", 1): 6}, [], 3, {("t", 0): 2, ("t", 1): 6}),
        # A checkpoint ahead of the whole batch stays where it is: it never moves back.
        ({("t", 0): 40}, [(1, 5)], 2, {("t", 0): 40, ("t", 1): 6}),
    ],
)
def test_deliveries_below_their_checkpoint_are_replays(
    checkpoints: dict[tuple[str, int], int],
    fresh_offsets: list[tuple[int, int]],
    replayed: int,
    next_offsets: dict[tuple[str, int], int],
) -> None:
    batch = [_d(0, 0), _d(0, 1), _d(1, 5)]
    selection = select_unapplied(batch, checkpoints)
    assert [(d.partition, d.offset) for d in selection.fresh] == fresh_offsets
    assert selection.replayed == replayed
    assert selection.next_offsets == next_offsets
