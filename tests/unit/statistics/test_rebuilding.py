"""A rebuild folded in memory writes what the incremental projection writes, batch after batch."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from amnesty_contracts import Rejection, RejectionReason
from amnesty_statistics.domain.figures import Counts, add_into
from amnesty_statistics.domain.persons import PersonState
from amnesty_statistics.domain.projection import project_batch
from amnesty_statistics.service_layer.rebuilding import InMemoryFold
from tests.support.event_stream import Event, history


def incremental(events: list[Event], batch_size: int) -> tuple[dict[str, PersonState], Counts]:
    states: dict[str, PersonState] = {}
    table: Counts = {}
    for start in range(0, len(events), batch_size):
        changed, deltas = project_batch(states, events[start : start + batch_size])
        states |= changed
        add_into(table, deltas)
    return states, table


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), batch_size=st.integers(1, 60), shuffle=st.booleans())
def test_the_fold_in_memory_equals_the_incremental_projection(
    seed: int, batch_size: int, shuffle: bool
) -> None:
    events = history(seed, persons=40)
    if shuffle:  # a rebuild interleaves the two topics differently from the live run
        random.Random(seed).shuffle(events)
    fold = InMemoryFold()
    fold.take(events)
    states, table = incremental(events, batch_size)
    assert fold.states == states
    assert fold.figures() == table


def test_a_message_read_twice_counts_once_and_an_unreadable_one_is_counted_as_skipped() -> None:
    events = history(7, persons=10)
    fold = InMemoryFold()
    unreadable = Rejection(RejectionReason.UNKNOWN_TYPE, "type: must be one of …")
    fold.take([*events, *events, unreadable])
    assert fold.figures() == incremental(events, 10)[1]
    assert fold.skipped == {"unknown-type": 1}
