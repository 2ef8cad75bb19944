"""`amnesty rebuild statistics`: a new version of the read models from the beginning of the topics.

Registered in the `amnesty.cli` entry-point group as `rebuild` (see pyproject.toml).
"""

from __future__ import annotations

import asyncpg
import typer
import uvloop
from aiokafka.errors import KafkaError
from rich.progress import Progress

from amnesty_eventstore import create_pool
from amnesty_runtime import progress
from amnesty_runtime.command_failures import print_failure
from amnesty_runtime.provenance import MissingKeyError, verifier_of
from amnesty_runtime.stack import resolve
from amnesty_statistics.entrypoints.projection import (
    RebuildInProgressError,
    RebuildReport,
    producers_of,
    rebuild,
)
from amnesty_statistics.service_layer.projecting import SERVICE
from amnesty_statistics.settings import StatisticsSettings

app = typer.Typer(help="Rebuild a read model from the beginning of its topics, beside the live one.")
console = progress.stderr_console()


@app.callback()
def _group() -> None:
    """Rebuild read models (blue/green: the live one serves until the new one has caught up)."""


@app.command("statistics")
def rebuild_statistics(quiet: progress.QuietOption = False) -> None:
    """Build a new version of the statistics read models from the beginning of amnesty.cases.v1 and
    amnesty.decisions.v1 beside the live one; switch the views to it once it has caught up. The running
    service follows the switch within seconds and then drops the old version."""
    settings = StatisticsSettings()
    try:
        # On uvloop, as the service runs: the rebuild reads both topics from the start.
        report = uvloop.run(_rebuild(settings, quiet=quiet))
    except RebuildInProgressError as exc:
        print_failure(console, None, exc)
        raise typer.Exit(1) from exc
    # No verifying keys: a rebuild never counts events it cannot check, so it does not start.
    except MissingKeyError as exc:
        print_failure(console, "keys", exc)
        raise typer.Exit(1) from exc
    # PostgreSQL or Kafka unreachable (or refusing): one line naming which, not the driver's traceback.
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print_failure(console, "database", exc)
        raise typer.Exit(1) from exc
    except KafkaError as exc:
        print_failure(console, "kafka", exc)
        raise typer.Exit(1) from exc
    console.print(
        f"version {report.version} replaces version {report.previous}: {report.events} messages in "
        f"{report.seconds:.1f}s ({report.events_per_second:.0f}/s)"
    )


class _Bar:
    """The rebuild's progress as a rich progress bar (messages folded of those on the topics)."""

    def __init__(self, bars: Progress) -> None:
        self._progress = bars
        self._task = bars.add_task("folding messages", total=None, unit="messages")

    def note(self, message: str) -> None:
        # The steps print above the bar; without a bar (--quiet, no terminal) as plain lines.
        self._progress.console.print(message)

    def advance(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)


async def _rebuild(settings: StatisticsSettings, *, quiet: bool) -> RebuildReport:
    endpoints = resolve(settings.infra)
    # The service's trust: a rebuild counts no event the live projection would refuse.
    verifier = verifier_of(SERVICE, settings, producers_of(settings))
    pool = await create_pool(endpoints.database_url("statistics"), min_size=2, max_size=4)
    try:
        with progress.progress_bars(console, quiet=quiet) as bars:
            return await rebuild(
                pool,
                endpoints.kafka_client_options("statistics"),
                settings,
                progress=_Bar(bars),
                verifier=verifier,
            )
    finally:
        await pool.close()
