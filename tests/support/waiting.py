"""Waiting for asynchronous outcomes in tests: poll a condition, fail with what was last seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

POLL_S = 0.2
PAUSE_S = 2.0
"""A poll's sleep that overran by more than this was a pause of the machine, not of the system under test."""
MAX_PAUSED_S = 120.0
"""The most a wait adds back for pauses, in all."""


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout_s: float = 60.0
) -> T:
    """Poll ``probe`` until ``done`` holds for its value; raise with the last value after the timeout.

    The timeout is the system's time to get there: when the machine itself stops (a virtual machine's
    host takes its cores away; the monotonic clock goes on), the services and their broker stop with
    it, so that stretch is added back. Without it, a pause as long as the timeout failed the test the
    moment the machine came back, before anything could have moved.
    """
    deadline = time.monotonic() + timeout_s
    paused = 0.0
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            seen = f"last seen: {value!r}"
            if paused:
                seen += f" (the machine stood still for {paused:.1f}s more, not counted)"
            raise AssertionError(f"not reached within {timeout_s}s; {seen}")
        slept = time.monotonic()
        await asyncio.sleep(POLL_S)
        overran = time.monotonic() - slept - POLL_S
        if overran > PAUSE_S and paused < MAX_PAUSED_S:
            # Bounded: a stall of this test's own loop (not the machine's) is excused too, and repeated
            # stalls must not stretch a wait without end.
            added = min(overran, MAX_PAUSED_S - paused)
            paused += added
            deadline += added


async def checkpoints_cover(
    pool: Any, schema: str, total: int, timeout_s: float = 60.0, group: str | None = None
) -> None:
    """Wait until a service's stored consumer checkpoints add up to ``total`` messages (its topics' ends)."""

    async def applied() -> int:
        value = await pool.fetchval(
            f'SELECT coalesce(sum(next_offset), 0) FROM "{schema}".consumer_checkpoints '
            "WHERE $1::text IS NULL OR consumer_group = $1",
            group,
        )
        return int(value)

    await eventually(applied, lambda n: n >= total, timeout_s)
