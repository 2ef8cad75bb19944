"""`amnesty simulate`: a calibrated history of upstream submissions, published to amnesty.upstream.v1."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from amnesty_contracts import UPSTREAM
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import resolve
from amnesty_simulator.calibration import Residual, calibrate, month_of, read_figures, return_targets
from amnesty_simulator.publisher import publish
from amnesty_simulator.submissions import Outgoing, submissions
from amnesty_simulator.world import generate

app = typer.Typer(help="Simulate upstream systems with a history calibrated on the published figures.")
console = Console(stderr=True)


@app.callback(invoke_without_command=True)
def simulate(
    *,
    start: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")] = "2022-01",
    end: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")] = "2025-09",
    scale: Annotated[float, typer.Option(help="Share of the published volumes, e.g. 0.1.")] = 1.0,
    speed: Annotated[
        str, typer.Option(help="'max', or simulated seconds per real second (86400 = a day a second).")
    ] = "max",
    seed: Annotated[int, typer.Option(help="Same seed, same history.")] = 2024,
    topic: Annotated[str, typer.Option(help="Where to publish.")] = UPSTREAM,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Generate and summarise; publish nothing.")
    ] = False,
) -> None:
    """Generate the history for the months and publish it like any upstream system."""
    figures = read_figures()
    first, last = month_of(start), month_of(end)
    calendar = calibrate(figures, first, last)
    world = generate(calendar, return_targets(figures), first=first, last=last, scale=scale, seed=seed)
    messages = submissions(world, seed=seed)
    _summarise(messages, calendar.residuals)
    if dry_run:
        return
    bootstrap = resolve(InfraSettings()).kafka_bootstrap_servers
    wall = asyncio.run(
        publish(messages, bootstrap=bootstrap, topic=topic, speed=None if speed == "max" else float(speed))
    )
    console.print(
        f"published {len(messages):,} messages to {topic} in {wall:.1f}s ({len(messages) / wall:,.0f}/s)"
    )


def _summarise(messages: list[Outgoing], residuals: list[Residual]) -> None:
    kinds = Counter(
        m.value.split(b'"type":"')[1].split(b'"')[0].decode() if b'"type":"' in m.value else "malformed"
        for m in messages
    )
    table = Table("submissions", "count")
    for kind, n in kinds.most_common():
        table.add_row(kind, f"{n:,}")
    console.print(table)
    for r in residuals:
        console.print(
            f"[yellow]residual[/yellow] {r.label}: published {r.published:,}, generated "
            f"{'n/a' if r.generated < 0 else f'{r.generated:,}'}"
        )
