"""`amnesty rejected list | show | redrive`: the operator's view of amnesty.rejected.v1, and the way back in.

Registered in the `amnesty` command through the `amnesty.cli` entry-point group; reads the same settings
as the intake service (AMNESTY_INTAKE_*: its database and schema, its topics) and finds Kafka and
PostgreSQL as every other subcommand does. A redrive queues the originals on intake's outbox for the
upstream topic, so they come back through intake's own door, in order, exactly as upstream sent them.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

import asyncpg
import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from amnesty_contracts import RejectionReason
from amnesty_eventstore import EVENTSTORE_MIGRATIONS, MigrationError, create_pool, migrate
from amnesty_intake.adapters.redrive_log import PostgresRedriveLog
from amnesty_intake.adapters.rejected_topic import KafkaRejectedTopic, NoSuchTopicError
from amnesty_intake.domain.redrives import Filter, Redrive, Rejected, RejectedId, readable_original
from amnesty_intake.service_layer.admission import SERVICE
from amnesty_intake.service_layer.rejected_messages import (
    Listing,
    RedriveReport,
    find_rejected,
    list_rejected,
    redrive,
)
from amnesty_intake.settings import IntakeSettings
from amnesty_runtime import progress
from amnesty_runtime.settings import SERVICES
from amnesty_runtime.stack import resolve
from amnesty_runtime.stack.principals import OPERATOR

app = typer.Typer(
    help="List, show and re-drive the messages on amnesty.rejected.v1.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
console = Console(width=None if sys.stdout.isatty() else 160)
# Errors name ids and topics: one line each, never wrapped where a script or a log reads them.
errors = Console(stderr=True, soft_wrap=True)
# The bar of the topic's reading on stderr, so that stdout holds the table or the JSON alone.
progress_console = progress.stderr_console()
T = TypeVar("T")

_LARGEST_LIMIT = 10_000


def rejected_id(value: str | RejectedId) -> RejectedId:
    """ID: a rejected message's PARTITION:OFFSET on the rejected topic, as `list` prints it."""
    if isinstance(value, RejectedId):
        return value
    try:
        return RejectedId.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def moment(value: str | datetime) -> datetime:
    """--since/--until: a day (its midnight, UTC) or a time (UTC unless it gives its offset)."""
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a day or a time: write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM], "
            "e.g. 2026-12-01 or 2026-12-01T08:30Z"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def service_name(value: str) -> str:
    """--service: one of the services, each of which may reject what it consumes."""
    if value not in SERVICES:
        raise typer.BadParameter(f"{value!r} is not a service: one of {', '.join(SERVICES)}")
    return value


ReasonOption = Annotated[
    RejectionReason | None, typer.Option("--reason", help="Only messages rejected for this reason.")
]
ServiceOption = Annotated[
    str | None,
    typer.Option(
        "--service", parser=service_name, metavar="SERVICE", help="Only messages this service rejected."
    ),
]
SinceOption = Annotated[
    datetime | None,
    typer.Option(
        "--since", parser=moment, metavar="WHEN", help="Only messages rejected at or after WHEN (UTC)."
    ),
]
UntilOption = Annotated[
    datetime | None,
    typer.Option("--until", parser=moment, metavar="WHEN", help="Only messages rejected before WHEN (UTC)."),
]


def _filter(
    ctx: typer.Context,
    reason: RejectionReason | None,
    service: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Filter:
    if since is not None and until is not None and until <= since:
        raise typer.BadParameter(f"{until.isoformat()} is not after --since", ctx=ctx, param_hint=["--until"])
    return Filter(reason, service, since, until)


@dataclass(frozen=True, slots=True)
class _Ports:
    topic: KafkaRejectedTopic
    log: PostgresRedriveLog
    topic_name: str
    upstream: str


def _run(work: Callable[[_Ports], Awaitable[T]], *, quiet: bool, migrating: bool = False) -> tuple[T, _Ports]:
    """``work`` on the rejected topic and intake's redrive log; a failure of either is one line, exit 1."""
    settings = IntakeSettings()
    endpoints = resolve(settings.infra)
    bars = progress.progress_bars(progress_console, quiet=quiet)
    reading = bars.add_task(f"reading {settings.rejected_topic}", total=None, unit="messages")

    def advance(done: int, total: int) -> None:
        bars.update(reading, completed=done, total=total)

    async def run() -> tuple[T, _Ports]:
        pool = await create_pool(endpoints.database_url(SERVICE), min_size=1, max_size=2)
        try:
            if migrating:
                # The redrive log may be newer than the running service: the same migrations it applies.
                # Imported here: the service's composition root brings FastAPI, which reading needs not.
                from amnesty_intake.entrypoint import MIGRATIONS

                await migrate(pool, settings.schema_name, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
            ports = _Ports(
                KafkaRejectedTopic(
                    endpoints.kafka_client_options(OPERATOR), settings.rejected_topic, advance
                ),
                PostgresRedriveLog(
                    pool, settings.schema_name, settings.rejected_topic, settings.upstream_topic
                ),
                settings.rejected_topic,
                settings.upstream_topic,
            )
            return await work(ports), ports
        finally:
            await pool.close()

    try:
        with bars:
            return asyncio.run(run())
    except NoSuchTopicError as exc:
        _fail(f"kafka: {exc}")
    except KafkaError as exc:
        _fail(f"kafka: {exc} (at {endpoints.kafka_bootstrap_servers})")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, MigrationError) as exc:
        _fail(f"database: {exc}")


def _fail(line: str) -> NoReturn:
    errors.print(escape(line), style="red", highlight=False)
    raise typer.Exit(1)


def _warn_unreadable(ports: _Ports) -> None:
    if ports.topic.unreadable:
        ids = ", ".join(str(i) for i in ports.topic.unreadable[:10])
        errors.print(
            f"{len(ports.topic.unreadable)} records on {ports.topic_name} are no rejected message, skipped: "
            f"{ids}",
            markup=False,
            highlight=False,
        )


@app.callback()
def _group() -> None:
    """The messages intake (or another service) refused, with their reason and original bytes.

    A message's ID is where it sits on the rejected topic, PARTITION:OFFSET (e.g. 2:17), as `list`
    prints it.
    """


@app.command("list")
def list_command(
    ctx: typer.Context,
    *,
    reason: ReasonOption = None,
    service: ServiceOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[
        int, typer.Option(min=1, max=_LARGEST_LIMIT, help="At most this many, the newest.")
    ] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array, for scripts.")] = False,
    quiet: progress.QuietOption = False,
) -> None:
    """The newest rejected messages, oldest first: reason, detail, source, redrive; never the originals."""
    selection = _filter(ctx, reason, service, since, until)
    listing, ports = _run(lambda p: list_rejected(p.topic, p.log, selection, limit), quiet=quiet)
    _warn_unreadable(ports)
    rows = [_summary(r, listing) for r in listing.shown]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    columns = ("id", "rejected at", "service", "reason", "detail", "source", "bytes", "redrive")
    table = Table(*columns, title=f"{ports.topic_name}: {len(rows)} newest of {listing.matching} matching")
    for row in rows:
        table.add_row(
            row["id"],
            row["rejected_at"][:19].replace("T", " "),
            escape(row["service"]),
            row["reason"],
            escape(row["detail"]),
            escape(row["source"]),
            f"{row['original_bytes']}{' (cut)' if row['cut'] else ''}",
            escape(row["redrive"]),
        )
    console.print(table)


def _summary(rejected: Rejected, listing: Listing) -> dict[str, Any]:
    """What `list` says of a message: everything but the original (it carries raw identifiers)."""
    message = rejected.message
    return {
        "id": str(rejected.id),
        "rejected_at": message.rejected_at.isoformat(),
        "service": message.service,
        "reason": str(message.reason),
        "detail": message.detail,
        "source": _source(rejected),
        "original_sha256": message.original_sha256,
        "original_bytes": len(rejected.original),
        "cut": rejected.cut,
        "redrive": _redrive_state(rejected, listing.redrives, listing.redriven_bytes),
    }


def _source(rejected: Rejected) -> str:
    message = rejected.message
    if message.topic is None:
        return "http"
    return f"{message.topic} {message.partition}:{message.offset}"


def _redrive_state(
    rejected: Rejected, redrives: dict[RejectedId, Redrive], redriven_bytes: dict[str, RejectedId]
) -> str:
    done = redrives.get(rejected.id)
    if done is not None:
        when = done.redriven_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"re-driven {when} ({'queued' if done.queued else 'sent'})"
    same = redriven_bytes.get(rejected.message.original_sha256)
    return f"same bytes re-driven as {same}" if same is not None else ""


@app.command("show")
def show_command(
    message_id: Annotated[
        RejectedId, typer.Argument(metavar="ID", parser=rejected_id, help="PARTITION:OFFSET, as listed.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="The rejected message as JSON, for scripts.")
    ] = False,
    quiet: progress.QuietOption = False,
) -> None:
    """One rejected message in full, its original decoded (it may carry raw identifiers)."""
    found, ports = _run(lambda p: find_rejected(p.topic, p.log, [message_id]), quiet=quiet)
    if not found.found:
        _fail(f"no rejected message {message_id} on {ports.topic_name}")
    (rejected,) = found.found
    state = _redrive_state(rejected, found.redrives, {})
    if as_json:
        document = {"id": str(rejected.id), **rejected.message.model_dump(mode="json")}
        typer.echo(json.dumps(document | {"cut": rejected.cut, "redrive": state}, indent=2))
        return
    message = rejected.message
    facts = Table.grid(padding=(0, 2))
    for name, value in (
        ("id", f"{rejected.id} on {ports.topic_name}"),
        ("rejected at", message.rejected_at.isoformat()),
        ("service", message.service),
        ("reason", str(message.reason)),
        ("detail", message.detail),
        ("source", _source(rejected)),
        ("original_sha256", message.original_sha256),
        ("redrive", state or "never re-driven"),
    ):
        facts.add_row(name, escape(value))
    console.print(facts)
    kept = len(rejected.original)
    console.print(
        f"\noriginal, {kept} bytes"
        + (" kept of more: cut at 64 KiB, it cannot be re-driven" if rejected.cut else "")
        + ":",
        highlight=False,
    )
    console.print(readable_original(rejected.original), markup=False, highlight=False, soft_wrap=True)


@app.command("redrive")
def redrive_command(
    ctx: typer.Context,
    *,
    ids: Annotated[
        list[RejectedId] | None,
        typer.Argument(
            metavar="ID", parser=rejected_id, show_default=False, help="PARTITION:OFFSET, as listed."
        ),
    ] = None,
    reason: ReasonOption = None,
    service: ServiceOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[
        int, typer.Option(min=1, max=_LARGEST_LIMIT, help="At most this many chosen by filter, oldest first.")
    ] = 100,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be re-driven; send nothing.")
    ] = False,
    quiet: progress.QuietOption = False,
) -> None:
    """Send the original bytes of rejected messages back through intake (to its upstream topic), chosen
    by ID or by filter. Each is re-driven once: a run again, or after a crash, sends nothing twice. By
    filter, bytes already re-driven are not sent again (a message still bad is rejected again, never
    looped). Messages cut at 64 KiB, or refused by another service, are never re-driven."""
    selection = _filter(ctx, reason, service, since, until)
    if ids and not selection.empty:
        raise typer.BadParameter("give IDs or filters, not both", ctx=ctx, param_hint=["ID"])
    if not ids and selection.empty:
        raise typer.BadParameter(
            "choose what to re-drive: IDs, or at least one of --reason, --service, --since, --until",
            ctx=ctx,
            param_hint=["ID"],
        )
    report, ports = _run(
        lambda p: redrive(p.topic, p.log, ids=ids or (), selection=selection, limit=limit, dry_run=dry_run),
        quiet=quiet,
        migrating=not dry_run,
    )
    _warn_unreadable(ports)
    _print_redrive(report, ports, by_id=bool(ids))
    if ids and (report.missing or report.plan.refused):
        raise typer.Exit(1)


def _print_redrive(report: RedriveReport, ports: _Ports, *, by_id: bool) -> None:
    plan = report.plan
    if plan.send:
        title = "would re-drive" if report.dry_run else "re-driven"
        table = Table("id", "rejected at", "reason", "detail", "bytes", title=title)
        for candidate in plan.send:
            table.add_row(
                str(candidate.id),
                candidate.rejected_at.isoformat()[:19].replace("T", " "),
                candidate.reason,
                escape(candidate.detail),
                str(candidate.size),
            )
        console.print(table)
    for missing in report.missing:
        errors.print(f"{missing}: no such rejected message on {ports.topic_name}", highlight=False)
    if by_id:
        for rejected, refusal in plan.refused:
            errors.print(f"{rejected.id}: not re-driven: {refusal}", markup=False, highlight=False)
    else:
        for refusal, n in Counter(refusal for _, refusal in plan.refused).items():
            console.print(f"{n} not re-driven: {refusal}", markup=False, highlight=False)
    if plan.left:
        console.print(f"{plan.left} more to re-drive beyond --limit: run it again for them", highlight=False)
    for raced in report.raced:
        console.print(f"{raced}: re-driven meanwhile by another run, not sent again", highlight=False)
    sent = len(plan.send) if report.dry_run else len(report.queued)
    if report.dry_run:
        console.print(
            f"dry run: {sent} would be re-driven to {ports.upstream}; nothing sent", highlight=False
        )
    elif sent:
        console.print(
            f"{sent} re-driven: queued on intake's outbox for {ports.upstream}; intake publishes them "
            "and takes them in as from upstream",
            highlight=False,
        )
    else:
        console.print("nothing re-driven", highlight=False)
