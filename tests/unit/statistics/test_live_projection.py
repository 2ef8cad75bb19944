"""The live projection's loop ends when the service stops, a switch of version in progress included."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from amnesty_statistics.entrypoints.projection import LiveProjection
from amnesty_statistics.settings import StatisticsSettings


@pytest.fixture
def projection() -> LiveProjection:
    # No pool, broker or verifier: the loop is what is under test, follow_active is replaced.
    none: Any = None
    return LiveProjection(none, none, StatisticsSettings(version_poll_s=0.01), none)


@pytest.mark.timeout(30)
async def test_a_stop_during_a_switch_of_version_ends_the_loop_once_the_switch_is_done(
    projection: LiveProjection, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = asyncio.Event()
    switches: list[str] = []

    async def follow_active() -> None:
        switches.append("started")
        if len(switches) > 1:
            return  # a loop that went on: checks again and again, until the test's bound
        stop.set()  # the service is told to stop while the switch is under way
        # Stopping the old version's consumer swallows a cancellation, as aiokafka's fetcher does.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.05)
        switches.append("done")

    monkeypatch.setattr(projection, "follow_active", follow_active)
    await asyncio.wait_for(projection.run(stop), 5)

    assert switches == ["started", "done"]  # finished, and no further check began


@pytest.mark.timeout(30)
async def test_a_stop_between_checks_ends_the_loop_without_another_check(
    projection: LiveProjection, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[int] = []

    async def follow_active() -> None:
        checks.append(1)

    monkeypatch.setattr(projection, "follow_active", follow_active)
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(projection.run(stop), 5)

    assert checks == []
