"""Progress bars of the long commands (simulate, whatif, rebuild): on stderr, with counts and rates.

Drawn only at a terminal and without ``--quiet``: in a pipe, a CI log or a file the results alone print.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars; the results still print.")
]
"""``--quiet`` as every long command takes it."""


def stderr_console() -> Console:
    """Where a command's progress and messages go, so that its stdout holds only its results."""
    return Console(stderr=True)


class RateColumn(ProgressColumn):
    """Items per second, named by the task's ``unit`` field (e.g. "12,345 messages/s")."""

    def __init__(self) -> None:
        # A fixed width, so the bar does not jump as the rate gains digits.
        super().__init__(table_column=Column(min_width=18, justify="right"))

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} {unit}/s", style="progress.data.speed")


def progress_bars(console: Console, *, quiet: bool) -> Progress:
    """One bar per task: what it does, done of total, rate, elapsed and remaining time.

    Hidden with ``quiet`` or when ``console`` is no terminal. Log lines written to stderr meanwhile
    print above the bars (rich redirects stderr while they show)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    )
