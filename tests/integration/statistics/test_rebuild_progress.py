"""`amnesty rebuild statistics` draws its progress bar at a terminal only; no broker line prints over it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.event_stream import history
from tests.support.statistics import statistics_under_test

pytestmark = pytest.mark.integration

# What FastStream's own logger printed for every batch (and at start) before it went through the log.
BROKER_LINES = ("Received", "Processed", "waiting for messages")


def _plain(text: str) -> str:
    """The text without the terminal's escape sequences (colours, cursor moves)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


async def test_the_rebuild_shows_progress_at_a_terminal_and_never_the_brokers_lines(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    async with statistics_under_test(endpoints, admin_pool, tmp_path / "statistics.log") as stats:
        await stats.publish(history(seed=11, persons=300))
        await stats.process.start()
        await stats.caught_up()
        piped = await stats.rebuild_command()
        stats.env["TTY_COMPATIBLE"] = "1"  # rich's switch: draw as on a terminal
        at_a_terminal = _plain(await stats.rebuild_command())
        quiet = _plain(await stats.rebuild_command("--quiet"))

    assert "version 2 replaces version 1" in piped
    assert "folding messages" not in piped
    assert "version 3 replaces version 2" in at_a_terminal
    assert "folding messages" in at_a_terminal
    assert "version 4 replaces version 3" in quiet
    assert "folding messages" not in quiet
    for output in (piped, at_a_terminal, quiet):
        assert not [line for line in BROKER_LINES if line in output], output
