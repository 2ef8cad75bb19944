"""Waiting for asynchronous outcomes in tests: poll a condition, fail with what was last seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout_s: float = 60.0
) -> T:
    """Poll ``probe`` until ``done`` holds for its value; raise with the last value after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout_s}s; last seen: {value!r}")
        await asyncio.sleep(0.2)


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
