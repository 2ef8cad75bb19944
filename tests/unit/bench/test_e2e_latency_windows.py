"""bench_e2e's latency by window of sending: each return counted in the window it was sent in."""

from __future__ import annotations

from tests.bench.bench_e2e import Latency


def test_each_return_falls_in_the_window_it_was_sent_in_and_undecided_ones_are_left_out() -> None:
    latency = Latency(asked_rate=1.0)
    for i, (sent, decided) in enumerate([(100.0, 100.2), (104.9, 105.0), (105.0, 106.0), (116.0, None)]):
        latency.sent_at[f"r{i}"] = sent
        if decided is not None:
            latency.decided_at[f"r{i}"] = decided
    windows = latency.windows_s(5.0)
    assert [[round(t, 3) for t in window] for window in windows] == [[0.2, 0.1], [1.0], [], []]


def test_no_return_sent_no_window() -> None:
    assert Latency(asked_rate=1.0).windows_s(5.0) == []
