"""The live page's change feed: one poller per process, however many pages are open.

Every `interval_s` the feed asks where the read model stands (`ReadModelPosition`); when that moved, it
reads the all-time totals once and wakes every subscriber with them. A page then re-fetches what it
shows through the API. Subscribers never touch the database, so a thousand open pages cost the same
one query a second as none.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """The read model as of one position: what a subscriber is sent."""

    position: Hashable
    totals: dict[str, Any]


class ChangeFeed:
    def __init__(
        self,
        position: Callable[[], Awaitable[Hashable]],
        totals: Callable[[], Awaitable[dict[str, Any]]],
        interval_s: float,
    ) -> None:
        self._position = position
        self._totals = totals
        self._interval_s = interval_s
        self._changed = asyncio.Event()
        self.latest: Change | None = None

    async def poll(self) -> None:
        """Read the position; when it moved, read the totals and wake the subscribers."""
        position = await self._position()
        if self.latest is not None and position == self.latest.position:
            return
        self.latest = Change(position, await self._totals())
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            try:
                await self.poll()
            except Exception:  # the next poll tries again; the pages keep what they show meanwhile
                log.exception("reading the read model's position failed")
            await asyncio.sleep(self._interval_s)

    async def changes(self) -> AsyncIterator[Change]:
        """The latest change at once (when there is one), then each newer one, until the caller stops.

        A slow subscriber skips intermediate changes: it always gets the newest, never a backlog.
        """
        sent: Change | None = None
        while True:
            changed = self._changed  # taken before looking at `latest`: no change can slip in between
            if self.latest is not None and self.latest is not sent:
                sent = self.latest
                yield sent
            else:
                await changed.wait()
