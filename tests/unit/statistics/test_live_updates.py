"""The live page's change feed: one poller, many subscribers, the newest change only."""

from __future__ import annotations

import asyncio
from typing import Any

from amnesty_statistics.service_layer.live_updates import Change, ChangeFeed


class ReadModel:
    """A stand-in for the database: a position, and how often the totals were read."""

    def __init__(self) -> None:
        self.position = (1, 0)
        self.totals_read = 0

    async def where(self) -> tuple[int, int]:
        return self.position

    async def totals(self) -> dict[str, Any]:
        self.totals_read += 1
        return {"voluntary_returns": self.position[1]}

    def moves(self, applied: int) -> None:
        self.position = (self.position[0], applied)


def feed_on(model: ReadModel) -> ChangeFeed:
    return ChangeFeed(model.where, model.totals, interval_s=0.01)


async def next_change(changes: Any) -> Change:
    change: Change = await asyncio.wait_for(anext(changes), 1)
    return change


async def test_the_totals_are_read_only_when_the_read_model_moved() -> None:
    model = ReadModel()
    feed = feed_on(model)
    await feed.poll()
    await feed.poll()
    assert model.totals_read == 1
    model.moves(5)
    await feed.poll()
    assert model.totals_read == 2
    assert feed.latest == Change((1, 5), {"voluntary_returns": 5})


async def test_a_subscriber_gets_the_latest_change_at_once_then_each_newer_one() -> None:
    model = ReadModel()
    feed = feed_on(model)
    await feed.poll()
    changes = feed.changes()
    assert (await next_change(changes)).totals == {"voluntary_returns": 0}
    model.moves(3)
    await feed.poll()
    assert (await next_change(changes)).totals == {"voluntary_returns": 3}


async def test_a_subscriber_before_the_first_poll_waits_for_it() -> None:
    model = ReadModel()
    feed = feed_on(model)
    changes = feed.changes()
    waiting = asyncio.ensure_future(next_change(changes))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await feed.poll()
    assert (await waiting).position == (1, 0)


async def test_a_slow_subscriber_skips_to_the_newest_change() -> None:
    model = ReadModel()
    feed = feed_on(model)
    await feed.poll()
    changes = feed.changes()
    await next_change(changes)
    for applied in (1, 2, 3):
        model.moves(applied)
        await feed.poll()
    assert (await next_change(changes)).totals == {"voluntary_returns": 3}


async def test_every_subscriber_is_woken_by_one_poll() -> None:
    model = ReadModel()
    feed = feed_on(model)
    await feed.poll()
    subscribers = [feed.changes() for _ in range(3)]
    for changes in subscribers:
        await next_change(changes)
    waiting = [asyncio.ensure_future(next_change(changes)) for changes in subscribers]
    model.moves(7)
    await feed.poll()
    assert [(await w).position for w in waiting] == [(1, 7)] * 3
    assert model.totals_read == 2


async def test_the_feed_keeps_polling_after_the_database_fails() -> None:
    model = ReadModel()
    failures = [RuntimeError("database away")]

    async def flaky() -> tuple[int, int]:
        if failures:
            raise failures.pop()
        return await model.where()

    feed = ChangeFeed(flaky, model.totals, interval_s=0.01)
    running = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(anext(feed.changes()), 1)
    finally:
        running.cancel()
    assert feed.latest is not None
