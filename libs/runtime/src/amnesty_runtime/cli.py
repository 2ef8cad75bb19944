"""The `amnesty` command: the local stack here, and subcommands that packages register.

Services add their commands (whatif, rebuild, simulate, ...) through the `amnesty.cli` entry-point group,
so this lib never imports a service.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, Field, ValidationError
from rich.console import Console
from rich.table import Table

from amnesty_runtime import simulation
from amnesty_runtime.command_failures import print_failure
from amnesty_runtime.logs import configure_logging
from amnesty_runtime.settings import SERVICE_PORTS, InfraSettings, refused_settings
from amnesty_runtime.stack import Stack, StackError
from amnesty_runtime.stack.secrets import SOURCE_TOKENS
from amnesty_runtime.stack.services import MAX_REPLICAS, PORT_STRIDE, SIMULATOR, instances

# Plain click output: a bad value is reported on one line ("Invalid value for '--from': ..."), where
# typer's rich panel would wrap it over several; the subcommands' help follows this setting too.
app = typer.Typer(
    help="amnesty-events: cases, returns and the amnesty, as events.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
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
        print_failure(console, "stack up failed", exc)
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
    """Show each component: running, stopped or external, with its address and log; and each service
    instance the demo started, ready or not, with its pid and address."""
    _print_status(Stack(InfraSettings()))


@app.command("demo")
def demo(
    *,
    scale: simulation.ScaleOption = 1.0,
    speed: simulation.SpeedOption = None,
    seed: Annotated[int, typer.Option(metavar="N", help="The simulator's seed.")] = 2024,
    replicas: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_REPLICAS,
            metavar="N",
            help=f"Instances of each service (1..{MAX_REPLICAS}), one consumer group per service; instance n "
            f"listens on the service's port + {PORT_STRIDE}(n - 1).",
        ),
    ] = 1,
) -> None:
    """Start the stack, N instances of each of the three services and (once) the simulator over
    2022-01..2025-09."""
    infra = InfraSettings()
    stack = Stack(infra)
    try:
        # The demo profile generates and keeps a local pseudonym key and API token under .local/secrets.
        env = os.environ | {"AMNESTY_PROFILE": "demo"}  # noqa: TID251 - children inherit the environment
        ports = demo_ports(env)
        planned = instances(ports, replicas)
        asyncio.run(stack.up())
        # Fewer instances than run now: the surplus stops (their partitions move once their session ends).
        names = {i.name for i in planned}
        stack.processes.stop([r.name for r in stack.processes.instances() if r.name not in names])
        for instance in planned:
            stack.processes.start_instance(instance, env)
        for instance in planned:
            stack.processes.wait_ready(instance, infra.ready_timeout_s)
        simulated = _start_simulator(stack, infra, scale=scale, speed=speed, seed=seed, env=env)
    except StackError as exc:
        print_failure(console, "demo failed", exc)
        raise typer.Exit(1) from exc
    _print_status(stack)
    _print_where_to_look(infra, simulated, ports)


BasePort = Annotated[int, Field(ge=1024, le=65535)]
"""A service's first instance's port, not a privileged one (``instances`` checks its replicas' room)."""


class DemoPorts(BaseModel):
    """The services' base ports, from AMNESTY_<SERVICE>_HTTP_PORT."""

    intake_http_port: BasePort = SERVICE_PORTS["intake"]
    eligibility_http_port: BasePort = SERVICE_PORTS["eligibility"]
    statistics_http_port: BasePort = SERVICE_PORTS["statistics"]


def demo_ports(env: dict[str, str]) -> dict[str, int]:
    """Each service's base port (its first instance's): its own AMNESTY_<SERVICE>_HTTP_PORT when set, else
    the default. A value that is no port is refused as any setting is (``main``: one line, exit 2)."""
    ports = DemoPorts.model_validate(
        {
            f"{service}_http_port": env[name]
            for service in SERVICE_PORTS
            if (name := f"AMNESTY_{service.upper()}_HTTP_PORT") in env
        }
    )
    return {
        "intake": ports.intake_http_port,
        "eligibility": ports.eligibility_http_port,
        "statistics": ports.statistics_http_port,
    }


def _start_simulator(
    stack: Stack, infra: InfraSettings, *, scale: float, speed: float | None, seed: int, env: dict[str, str]
) -> str:
    marker = infra.local / "demo" / f"simulated-seed{seed}-scale{scale}"
    if marker.exists():
        return f"already simulated (seed {seed}, scale {scale}); remove {marker} to publish it again"
    if stack.processes.running(SIMULATOR):
        return "the simulator is still publishing"
    marker.parent.mkdir(parents=True, exist_ok=True)
    amnesty = Path(sys.executable).parent / "amnesty"
    command = (
        f'"{amnesty}" simulate --from 2022-01 --to 2025-09 --scale {scale} '
        f"--speed {'max' if speed is None else speed} --seed {seed} "
        f'&& touch "{marker}"'
    )
    stack.processes.start(SIMULATOR, ["/bin/sh", "-c", command], env, "amnesty.upstream.v1")
    return f"the simulator publishes 2022-01..2025-09 at scale {scale} in the background"


def _print_where_to_look(infra: InfraSettings, simulated: str, ports: dict[str, int]) -> None:
    logs = infra.local / "logs"
    stats = f"http://127.0.0.1:{ports['statistics']}"
    intake = f"http://127.0.0.1:{ports['intake']}"
    token = infra.local / "secrets" / "intake-api.token"
    source_tokens = infra.local / "secrets" / SOURCE_TOKENS
    examples = infra.home / "services/eligibility/src/amnesty_eligibility/rule_sets/examples"
    console.print(f"""
[bold]amnesty-events is running.[/bold] {simulated} (its summary: {logs / "simulator.log"}).

  live page        {stats}/
  statistics API   {stats}/v1/stats/summary   {stats}/v1/stats/series?metric=voluntary_returns&period=month
  submissions      POST {intake}/v1/submissions  (a token per source in {source_tokens};
                   any source: the operator token in {token})
  metrics          {stats}/metrics  {intake}/metrics  http://127.0.0.1:{ports["eligibility"]}/metrics
  AsyncAPI docs    {intake}/asyncapi.json  {intake}/schemas/<message>.json
  HTTP API docs    {stats}/docs  {intake}/docs
  service logs     {logs}/
  rejected         amnesty rejected list   (show ID, redrive ID after a fix)
  what-if          amnesty whatif --rules {examples}/window-2-extended-2025-12-31.toml

Stop everything with: make down""")


def _print_status(stack: Stack) -> None:
    table = Table("component", "state", "address", "pid", "log / detail")
    for row in stack.status():
        colour = {"running": "green", "ready": "green", "stopped": "red", "not-ready": "yellow"}.get(
            row.state, "cyan"
        )
        table.add_row(
            row.name, f"[{colour}]{row.state}[/{colour}]", row.address, str(row.pid or ""), row.detail
        )
    console.print(table)


@functools.cache
def amnesty() -> typer.Typer:
    """The whole command: this module's commands and, added once, those the installed packages register."""
    for entry in entry_points(group="amnesty.cli"):
        plugin: typer.Typer = entry.load()
        command = plugin.registered_callback.callback if plugin.registered_callback else None
        if plugin.registered_commands or plugin.registered_groups or command is None:
            app.add_typer(plugin, name=entry.name)
        else:
            # A plugin that is one command (its callback, e.g. simulate): added as a command, so its usage
            # line reads "amnesty simulate [OPTIONS]", not "[OPTIONS] COMMAND [ARGS]..." as for a group.
            app.command(entry.name, help=plugin.info.help)(command)
    return app


def main() -> None:
    # Commands print their own results and progress; of the log only what needs attention.
    configure_logging("amnesty", level="WARNING")
    # The Kafka client logs each failed connection as an error; the command says it once, in its own line.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        amnesty()()
    except ValidationError as exc:
        # A setting from the environment (AMNESTY_PG_PORT=abc) that its settings object refuses: a line
        # per setting, exit 2 as for a bad option. Never the value: it may be a key or a token.
        for line in refused_settings(exc):
            print(line, file=sys.stderr)
        sys.exit(2)
