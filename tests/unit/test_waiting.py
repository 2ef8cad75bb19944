"""The tests' own waiting: a machine that stands still does not eat the system's time."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.support import waiting


class PausingClock:
    """A monotonic clock that sleeps advance: by the sleep, and once by ``pause_s`` more."""

    def __init__(self, pause_at_poll: int, pause_s: float, every_poll: bool = False) -> None:
        self.now = 0.0
        self.polls = 0
        self._pause_at_poll = pause_at_poll
        self._pause_s = pause_s
        self._every_poll = every_poll

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.polls += 1
        paused = self.polls == self._pause_at_poll or (self._every_poll and self.polls > self._pause_at_poll)
        self.now += seconds + (self._pause_s if paused else 0.0)


def paused(monkeypatch: pytest.MonkeyPatch, clock: PausingClock) -> PausingClock:
    """``clock`` as the waiting module's own view of time only: the event loop keeps the real clock."""
    monkeypatch.setattr(waiting, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(waiting, "asyncio", SimpleNamespace(sleep=clock.sleep))
    return clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> PausingClock:
    return paused(monkeypatch, PausingClock(pause_at_poll=3, pause_s=100.0))


async def test_a_pause_of_the_machine_is_not_counted_against_the_timeout(clock: PausingClock) -> None:
    async def probe() -> int:
        return clock.polls

    # Reached three polls after a pause longer than the whole timeout.
    assert await waiting.eventually(probe, lambda polls: polls >= 6, timeout_s=5.0) == 6


async def test_a_system_that_does_not_get_there_still_times_out(clock: PausingClock) -> None:
    async def probe() -> int:
        return clock.polls

    with pytest.raises(AssertionError, match=r"not reached within 5.0s.*stood still for 100.0s"):
        await waiting.eventually(probe, lambda _: False, timeout_s=5.0)
    # The pause was added back, and nothing more: 5 s of polls at 0.2 s, then the last probe.
    assert clock.now == pytest.approx(100.0 + 5.0 + waiting.POLL_S, abs=waiting.POLL_S)


async def test_stalls_again_and_again_stretch_a_wait_only_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = paused(monkeypatch, PausingClock(pause_at_poll=1, pause_s=3.0, every_poll=True))

    async def probe() -> int:
        return clock.polls

    with pytest.raises(AssertionError, match=r"stood still for 120\.0s"):
        await waiting.eventually(probe, lambda _: False, timeout_s=60.0)
    # Uncapped, 300 polls with a 3 s stall each would have stretched the wait to 960 s.
    assert clock.now <= 60.0 + waiting.MAX_PAUSED_S + 3.0 + waiting.POLL_S
