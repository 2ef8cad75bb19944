"""`amnesty whatif`: replay eligibility's recorded history under another rule set, publishing nothing.

Registered in the `amnesty` command through the `amnesty.cli` entry-point group; reads the same settings
as the service (AMNESTY_ELIGIBILITY_*: its database and schema, the rule set in force).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from amnesty_contracts import DenialReason, PendingReason
from amnesty_eligibility.adapters.rule_files import RuleFileError, load_rule_file, load_rule_set
from amnesty_eligibility.domain.decisions import DENIED, GRANTED, PENDING, Outcome
from amnesty_eligibility.domain.regimes import RuleSet
from amnesty_eligibility.entrypoints.calendar_days import calendar_day
from amnesty_eligibility.service_layer.handlers import SERVICE
from amnesty_eligibility.service_layer.whatif import Comparison, what_if
from amnesty_eligibility.settings import EligibilitySettings
from amnesty_runtime import progress
from amnesty_runtime.command_failures import print_failure
from amnesty_runtime.stack import resolve

app = typer.Typer(help="Replay the recorded history under another rule set and compare; publishes nothing.")
console = Console(width=None if sys.stdout.isatty() else 120)
# The progress bar on stderr, so that stdout holds the comparison alone.
progress_console = progress.stderr_console()

# Rule-set files are a few kilobytes: one given by mistake is read whole, and a device or a FIFO never ends.
_LARGEST_RULE_FILE = 1024 * 1024


def _rule_file(value: str) -> RuleSet:
    """--rules: the rule set in that TOML file, read and checked before anything else is done."""
    path = Path(value)
    if not path.is_file():
        raise typer.BadParameter(f"{value}: {'not a regular file' if path.exists() else 'no such file'}")
    if path.stat().st_size > _LARGEST_RULE_FILE:
        raise typer.BadParameter(f"{value}: larger than 1 MiB, not a rule-set file")
    try:
        return load_rule_file(path)
    except RuleFileError as exc:
        raise typer.BadParameter(str(exc)) from None
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{value}: not UTF-8 text, not a rule-set file") from None


@app.callback(invoke_without_command=True)
def whatif(
    ctx: typer.Context,
    alternative: Annotated[
        RuleSet,
        typer.Option(
            "--rules",
            parser=_rule_file,
            metavar="FILE",
            help="The rule-set TOML file to compare with the one in force.",
        ),
    ],
    since: Annotated[
        date | None,
        typer.Option(
            "--from", parser=calendar_day, metavar="YYYY-MM-DD", help="First return date counted (inclusive)."
        ),
    ] = None,
    until: Annotated[
        date | None,
        typer.Option(
            "--to", parser=calendar_day, metavar="YYYY-MM-DD", help="Last return date counted (inclusive)."
        ),
    ] = None,
    quiet: progress.QuietOption = False,
) -> None:
    """Decisions on the recorded returns under the rule set in force and under FILE, side by side."""
    if since is not None and until is not None and until < since:
        raise typer.BadParameter(f"{until} is before --from {since}", ctx=ctx, param_hint=["--to"])
    settings = EligibilitySettings()
    try:
        active = load_rule_set(settings.rule_set, settings.rules_file)
    except RuleFileError as exc:
        print_failure(console, "rule set", exc)
        raise typer.Exit(2) from exc
    dsn = resolve(settings.infra).database_url(SERVICE)
    try:
        with progress.progress_bars(progress_console, quiet=quiet) as bars:
            persons = bars.add_task("comparing persons", total=None, unit="persons")
            comparison = asyncio.run(
                _compare(
                    dsn,
                    settings.schema_name,
                    active,
                    alternative,
                    since=since,
                    until=until,
                    advance=lambda n: bars.advance(persons, n),
                )
            )
    except asyncpg.UndefinedTableError as exc:
        console.print(
            f"[red]no history:[/red] schema {settings.schema_name} has no event store (has the service run?)"
        )
        raise typer.Exit(1) from exc
    except (OSError, asyncpg.PostgresError) as exc:
        print_failure(console, "database", exc)
        raise typer.Exit(1) from exc
    console.print(render(comparison))
    console.print(
        f"{comparison.returns} returns of {comparison.persons} persons decided; "
        f"{comparison.returns_changed} decisions of {comparison.persons_changed} persons would change."
    )


async def _compare(
    dsn: str,
    schema: str,
    active: RuleSet,
    alternative: RuleSet,
    *,
    since: date | None,
    until: date | None,
    advance: Callable[[int], None],
) -> Comparison:
    conn = await asyncpg.connect(dsn)
    try:
        return await what_if(conn, schema, active, alternative, since=since, until=until, advance=advance)
    finally:
        await conn.close()


def render(comparison: Comparison) -> Table:
    """Counts by decision and regime or reason, the rule set in force beside the other one."""
    active, alternative = comparison.active.version, comparison.alternative.version
    period = f"returns from {comparison.since or 'the start'} to {comparison.until or 'the end'}"
    table = Table(
        "decision", "regime / reason", active, alternative, "change", title=f"What if {alternative}: {period}"
    )
    for outcome in _rows(comparison):
        before, after = comparison.under_active[outcome], comparison.under_alternative[outcome]
        change = f"{after - before:+d}" if after != before else ""
        table.add_row(_WORDS[outcome.type], outcome.code, str(before), str(after), change)
    return table


_WORDS = {GRANTED: "granted", DENIED: "denied", PENDING: "pending"}


def _rules_regimes(*rule_sets: RuleSet) -> list[str]:
    return list(dict.fromkeys(r.id for rules in rule_sets for r in rules.regimes))


def _rows(comparison: Comparison) -> list[Outcome]:
    """Every regime of either rule set, every denial reason and pending, whether counted or not."""
    rows = [Outcome(GRANTED, regime) for regime in _rules_regimes(comparison.active, comparison.alternative)]
    rows += [Outcome(DENIED, reason.value) for reason in DenialReason]
    rows += [Outcome(PENDING, reason.value) for reason in PendingReason]
    return rows
