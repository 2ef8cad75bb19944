"""The `amnesty` command: the local stack here, and subcommands that packages register.

Services add their commands (whatif, rebuild, simulate, ...) through the `amnesty.cli` entry-point group,
so this lib never imports a service.
"""

from __future__ import annotations

import asyncio
import sys
from importlib.metadata import entry_points

import typer
from rich.console import Console
from rich.table import Table

from amnesty_runtime.logs import configure_logging
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Stack, StackError

app = typer.Typer(help="amnesty-events: cases, returns and the amnesty, as events.", no_args_is_help=True)
stack_app = typer.Typer(help="The local Kafka broker and PostgreSQL server.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
# Wide enough for the status table when output goes to a file or CI log.
console = Console(width=None if sys.stdout.isatty() else 160)


@stack_app.command("up")
def stack_up() -> None:
    """Start (or reuse) Kafka and PostgreSQL, provision schemas, roles and topics, and wait until ready."""
    stack = Stack(InfraSettings())
    try:
        report = asyncio.run(stack.up())
    except StackError as exc:
        console.print(f"[red]stack up failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"PostgreSQL ready after {report.postgres_ready_s:.1f}s")
    console.print(f"Kafka ready after {report.kafka_ready_s:.1f}s")
    if report.topics_created:
        console.print(f"created topics: {', '.join(report.topics_created)}")
    _print_status(stack)


@stack_app.command("down")
def stack_down() -> None:
    """Stop exactly the processes `stack up` started."""
    stopped = Stack(InfraSettings()).down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing to stop")


@stack_app.command("status")
def stack_status() -> None:
    """Show each component: running, stopped or external, with its address and log."""
    _print_status(Stack(InfraSettings()))


def _print_status(stack: Stack) -> None:
    table = Table("component", "state", "address", "pid", "log / detail")
    for row in stack.status():
        colour = {"running": "green", "stopped": "red"}.get(row.state, "cyan")
        table.add_row(
            row.name, f"[{colour}]{row.state}[/{colour}]", row.address, str(row.pid or ""), row.detail
        )
    console.print(table)


def _register_plugins() -> None:
    for entry in entry_points(group="amnesty.cli"):
        plugin: typer.Typer = entry.load()
        app.add_typer(plugin, name=entry.name)


def main() -> None:
    configure_logging(json=not sys.stderr.isatty(), level="WARNING")
    _register_plugins()
    app()
