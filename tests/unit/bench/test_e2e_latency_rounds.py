"""bench_e2e's latency rounds: the round judged is the one of the median p99, never a flattering one."""

from __future__ import annotations

from tests.bench.bench_e2e import Latency, median_round, ms


def _round(*times_s: float | None, planned: int | None = None) -> Latency:
    """A round whose returns took ``times_s`` to their decision (None: sent, never decided)."""
    latency = Latency(asked_rate=1.0, planned=len(times_s) if planned is None else planned)
    for i, took in enumerate(times_s):
        latency.sent_at[f"r{i}"] = float(i)
        if took is not None:
            latency.decided_at[f"r{i}"] = i + took
    return latency


def test_of_three_rounds_the_middle_p99_is_judged_whatever_the_order_they_ran_in() -> None:
    fast, middle, slow = _round(0.1, 0.2), _round(0.1, 0.3), _round(0.1, 0.9)
    assert median_round([slow, fast, middle]) is middle
    assert round(median_round([middle, slow, fast]).p99_ms) == 300


def test_of_an_even_number_the_higher_of_the_middle_two() -> None:
    rounds = [_round(0.4), _round(0.1), _round(0.3), _round(0.2)]
    assert round(median_round(rounds).p99_ms) == 300


def test_a_return_never_decided_is_infinitely_late_so_a_lossy_round_never_looks_better() -> None:
    # Its decided returns were quick, but the one it lost would have been the slowest.
    lossy, slow, fast = _round(0.1, None), _round(0.5, 0.6), _round(0.1, 0.2)
    assert lossy.p99_ms == float("inf")
    assert median_round([lossy, slow, fast]) is slow
    assert median_round([lossy, _round(0.1, None), fast]).p99_ms == float("inf")
    assert ms(lossy.outcome_s(), 0.5, 0.99) == "100 / ∞"


def test_returns_a_round_never_sent_count_as_undecided() -> None:
    # The sending deadline stopped the round after two of its four returns.
    cut_short = _round(0.1, 0.1, planned=4)
    assert cut_short.p99_ms == float("inf")
    assert median_round([cut_short, _round(0.3), _round(0.2)]) is not cut_short


def test_no_return_no_figure() -> None:
    assert ms([], 0.99) == "—"
