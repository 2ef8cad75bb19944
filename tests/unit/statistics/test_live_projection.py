"""The live projection's loop ends when the service stops, a switch of version in progress included."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

import pytest

from amnesty_statistics.entrypoints import projection as projection_module
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

    async def follow_active(_stop: asyncio.Event | None = None) -> None:
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

    async def follow_active(_stop: asyncio.Event | None = None) -> None:
        checks.append(1)

    monkeypatch.setattr(projection, "follow_active", follow_active)
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(projection.run(stop), 5)

    assert checks == []


class _Subscriber:
    def __init__(self, started: list[str]) -> None:
        self._started = started

    async def start(self) -> None:
        self._started.append("new version's consumer")


class _Pipeline:
    """A version's pipeline: stopping it is when the service is told to stop (``on_stop``)."""

    def __init__(self, started: list[str], on_stop: asyncio.Event) -> None:
        self.subscriber = _Subscriber(started)
        self._on_stop = on_stop

    async def stop(self) -> None:
        self._on_stop.set()


class _Versions:
    def __init__(self, active: int) -> None:
        self._active = active

    async def active(self, _pool: object) -> int:
        return self._active

    async def with_status(self, _pool: object, _status: str, *, older_than_s: float) -> list[int]:
        return []


@pytest.mark.parametrize("stopping", [True, False])
async def test_a_switch_of_version_that_a_stop_catches_half_way_starts_no_new_consumer(
    projection: LiveProjection, monkeypatch: pytest.MonkeyPatch, stopping: bool
) -> None:
    started: list[str] = []
    stop, unrelated = asyncio.Event(), asyncio.Event()
    told = stop if stopping else unrelated  # what stopping the old version's consumer sets
    monkeypatch.setattr(
        projection_module, "projection_consumer", lambda *_a, **_k: SimpleNamespace(group="statistics-v2")
    )
    monkeypatch.setattr(projection_module, "policy_of", lambda *_a, **_k: object())
    monkeypatch.setattr(projection_module, "subscribe_policy", lambda *_a, **_k: _Pipeline(started, told))
    monkeypatch.setattr(projection, "_versions", _Versions(active=2))
    monkeypatch.setattr(projection, "_pipeline", _Pipeline(started, told))  # version 1's, running
    projection.version = 1

    await projection.follow_active(stop)

    if stopping:
        assert (started, projection.version) == ([], 1)
    else:
        assert (started, projection.version) == (["new version's consumer"], 2)
