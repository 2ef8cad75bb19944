"""Checkpoints compare as the SQL row comparison (transaction id, position) does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amnesty_eventstore import START, Checkpoint

ids = st.integers(min_value=0, max_value=2**62)


@given(ids, ids, ids, ids)
def test_checkpoints_order_as_rows_do(t1: int, p1: int, t2: int, p2: int) -> None:
    a, b = Checkpoint(t1, p1), Checkpoint(t2, p2)
    assert (a < b) == ((t1, p1) < (t2, p2))
    assert (a == b) == ((t1, p1) == (t2, p2))


def test_an_earlier_transaction_comes_first_whatever_its_position() -> None:
    # The late-commit case: a lower transaction id drew a higher position than later transactions.
    assert Checkpoint(transaction_id=100, position=9_000) < Checkpoint(transaction_id=101, position=5)


def test_start_is_before_every_event() -> None:
    assert Checkpoint(1, 1) > START
    assert Checkpoint(0, 0) == START


def test_a_negative_checkpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        Checkpoint(-1, 0)
