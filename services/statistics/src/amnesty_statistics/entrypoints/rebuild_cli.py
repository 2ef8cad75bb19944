"""`amnesty rebuild statistics`: a new version of the read models from the beginning of the topics.

Registered in the `amnesty.cli` entry-point group as `rebuild` (see pyproject.toml).
"""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TimeElapsedColumn

from amnesty_eventstore import create_pool
from amnesty_runtime.logs import configure_logging
from amnesty_runtime.stack import resolve
from amnesty_statistics.entrypoints.projection import RebuildInProgressError, RebuildReport, rebuild
from amnesty_statistics.settings import StatisticsSettings

app = typer.Typer(help="Rebuild a read model from the beginning of its topics, beside the live one.")
console = Console(stderr=True)


@app.callback()
def _group() -> None:
    """Rebuild read models (blue/green: the live one serves until the new one has caught up)."""


@app.command("statistics")
def rebuild_statistics() -> None:
    """Build a new version of the statistics read models from the beginning of amnesty.cases.v1 and
    amnesty.decisions.v1 beside the live one; switch the views to it once it has caught up. The running
    service follows the switch within seconds and then drops the old version."""
    settings = StatisticsSettings()
    try:
        report = asyncio.run(_rebuild(settings))
    except RebuildInProgressError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(
        f"version {report.version} replaces version {report.previous}: {report.events} messages in "
        f"{report.seconds:.1f}s ({report.events_per_second:.0f}/s)"
    )


class _Bar:
    """The rebuild's progress as a rich progress bar (messages folded of those on the topics)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task = progress.add_task("folding", total=None)

    def note(self, message: str) -> None:
        self._progress.console.print(message)

    def advance(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)


async def _rebuild(settings: StatisticsSettings) -> RebuildReport:
    endpoints = resolve(settings.infra)
    pool = await create_pool(endpoints.database_url("statistics"), min_size=2, max_size=4)
    columns = (BarColumn(), MofNCompleteColumn(), TaskProgressColumn(), TimeElapsedColumn())
    try:
        with Progress(*Progress.get_default_columns()[:1], *columns, console=console) as progress:
            return await rebuild(pool, endpoints.kafka_bootstrap_servers, settings, progress=_Bar(progress))
    finally:
        await pool.close()


if __name__ == "__main__":
    configure_logging("amnesty", level="WARNING")
    app()
