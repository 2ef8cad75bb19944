"""The consumer lag gauge keeps being measured through a failed measurement."""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import REGISTRY

from amnesty_runtime.processing import watch_consumer_lag


class _Pipeline:
    """Its first measurement fails (a partition moving away mid-rebalance), the next ones work."""

    def __init__(self) -> None:
        self.calls = 0

    def lag(self) -> dict[str, int]:
        self.calls += 1
        if self.calls == 1:
            raise AssertionError("Partition is not assigned")
        return {"lag-watch-topic": 7}


async def test_a_failed_measurement_is_logged_and_the_next_one_taken() -> None:
    """The watch ran in a gather that keeps a failure until the service stops: the gauge froze unseen."""
    pipeline = _Pipeline()
    watching = asyncio.create_task(watch_consumer_lag("lag-watch", lambda: [pipeline], interval_s=0.01))  # type: ignore[list-item]
    try:
        for _ in range(100):
            if pipeline.calls >= 2:
                break
            await asyncio.sleep(0.01)
        assert not watching.done()
        labels = {"service": "lag-watch", "topic": "lag-watch-topic"}
        assert REGISTRY.get_sample_value("amnesty_consumer_lag_messages", labels) == 7
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
