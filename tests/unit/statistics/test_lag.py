"""The projection lag: seconds since the latest high-water mark the checkpoints have reached."""

from __future__ import annotations

from amnesty_statistics.domain.lag import MAX_MARKS, LagTracker

A, B = ("cases", 0), ("decisions", 0)


def test_caught_up_is_no_lag() -> None:
    assert LagTracker().observe(10.0, {A: 5, B: 3}, {A: 5, B: 3}) == 0.0


def test_empty_topics_are_caught_up() -> None:
    assert LagTracker().observe(10.0, {A: 0, B: 0}, {}) == 0.0


def test_the_lag_is_the_age_of_the_latest_mark_reached() -> None:
    lag = LagTracker()
    assert lag.observe(10.0, {A: 5}, {A: 0}) == 0.0  # first measurement: behind since now
    assert lag.observe(11.0, {A: 8}, {A: 3}) == 1.0
    assert lag.observe(12.0, {A: 9}, {A: 5}) == 2.0  # the mark of 10.0 is reached
    assert lag.observe(13.0, {A: 9}, {A: 8}) == 2.0  # the mark of 11.0 is reached
    assert lag.observe(14.0, {A: 9}, {A: 9}) == 0.0


def test_a_stuck_projection_lags_more_and_more() -> None:
    lag = LagTracker()
    for second in range(MAX_MARKS + 10):
        seen = lag.observe(float(second), {A: second + 1}, {A: 0})
    assert seen == MAX_MARKS + 9
    assert len(lag.marks) <= MAX_MARKS + 1
