"""Every `amnesty` command and option fuzzed through typer's CliRunner: exit 0, 1 (the run-time failure,
one line) or 2 (the usage error, one line), never a traceback.

Nothing real is reached: PostgreSQL and Kafka are addresses where nothing listens, the stack is a stand-in
that refuses to start, and the simulator generates an empty history.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from amnesty_contracts import RejectionReason
from amnesty_runtime import cli as runtime_cli
from amnesty_runtime.settings import SERVICES
from amnesty_runtime.stack import StackError
from amnesty_simulator import cli as simulator_cli
from amnesty_simulator.world import World
from tests.fuzz.budget import FEW
from tests.unit.usage_errors import point_at_nothing, run

EXAMPLES = Path(__file__).parents[2] / "services/eligibility/src/amnesty_eligibility/rule_sets/examples"

RUN_TIME_FAILURES = (
    "database:",
    "kafka:",
    "keys:",
    "no history:",
    "rule set:",
    "demo failed:",
    "stack up failed:",
)
"""How each command starts the one line of a failure once its input was valid (exit 1)."""


class _RefusingStack:
    """The stack `demo` and `stack up` would start: it refuses, so the fuzzer never starts one (nor stops
    or reads the one the test session may be running)."""

    def __init__(self, *_: object) -> None:
        pass

    async def up(self) -> None:
        raise StackError("not started by the fuzzer")

    def down(self) -> list[str]:
        return []

    def status(self) -> list[object]:
        return []


@pytest.fixture(scope="module", autouse=True)
def nothing_real() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        point_at_nothing(patch)
        patch.setattr(runtime_cli, "Stack", _RefusingStack)
        patch.setattr(simulator_cli, "generate", lambda *_, **__: World())
        yield


# Text as a shell can pass it: any bytes but NUL, decoded as Python decodes argv (surrogateescape).
argv_text = st.binary(max_size=24).filter(lambda b: b"\x00" not in b).map(os.fsdecode) | st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=24
)
numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats().map(str),
    st.sampled_from(["max", "MAX", " max ", "nan", "inf", "-inf", "-0", "1e309", "0x10", "1_000", ""]),
    argv_text,
)
months = st.one_of(
    st.from_regex(r"-?[0-9]{1,5}-[0-9]{1,3}", fullmatch=True),
    st.sampled_from(["2022-01", "2025-09", "2025-10", "2022-13", "2024-00", "2021-12"]),
    argv_text,
)
days = st.one_of(
    st.dates().map(str),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
    st.datetimes().map(lambda d: d.isoformat()),
    argv_text,
)
ids = st.from_regex(r"-?[0-9]{1,25}:-?[0-9]{1,25}", fullmatch=True) | argv_text
rule_files = (
    st.sampled_from(
        [str(p) for p in sorted(EXAMPLES.glob("*.toml"))]
        + ["/dev/null", "/nonexistent", str(EXAMPLES), "/etc/hostname"]
    )
    | argv_text
)

OPTIONS: dict[str, dict[str, st.SearchStrategy[str] | None]] = {
    "simulate": {
        "--from": months,
        "--to": months,
        "--scale": numbers,
        "--speed": numbers,
        "--seed": numbers,
        "--topic": st.from_regex(r"[a-zA-Z0-9._-]{0,300}", fullmatch=True) | argv_text,
        "--dry-run": None,
        "--quiet": None,
    },
    "demo": {"--scale": numbers, "--speed": numbers, "--seed": numbers, "--replicas": numbers},
    "whatif": {"--rules": rule_files, "--from": days, "--to": days, "--quiet": None},
    "rejected list": {
        "--reason": st.sampled_from(list(RejectionReason)).map(str) | argv_text,
        "--service": st.sampled_from(SERVICES) | argv_text,
        "--since": days,
        "--until": days,
        "--limit": numbers,
        "--json": None,
        "--quiet": None,
    },
    "rejected show": {"--json": None, "--quiet": None},
    "rejected redrive": {
        "--reason": st.sampled_from(list(RejectionReason)).map(str) | argv_text,
        "--service": st.sampled_from(SERVICES) | argv_text,
        "--since": days,
        "--until": days,
        "--limit": numbers,
        "--dry-run": None,
        "--quiet": None,
    },
    "rebuild statistics": {"--quiet": None},
    "stack up": {},
    "stack down": {},
    "stack status": {},
}
ARGUMENTS = {"rejected show": ids, "rejected redrive": ids}


@st.composite
def command_lines(draw: st.DrawFn, command: str) -> list[str]:
    """``command`` with some of its options (valid and not), its arguments, and maybe a stray word."""
    argv = command.split()
    options = OPTIONS[command]
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=5)) if options else []:
        values = options[name]
        argv += [name] if values is None else [name, draw(values)]
    if command in ARGUMENTS:
        argv += draw(st.lists(ARGUMENTS[command], max_size=2))
    argv += draw(
        st.lists(st.sampled_from(["--bogus", "extra", "-x", "--help", "--"]) | argv_text, max_size=1)
    )
    return argv


def _the_command_ends_cleanly(argv: list[str]) -> None:
    result = run(argv)
    event(f"exit {result.exit_code}")  # --hypothesis-show-statistics: how far the examples got
    assert result.exception is None or isinstance(result.exception, SystemExit), (argv, result.exception)
    assert "Traceback" not in result.output + result.stderr, argv
    assert result.exit_code in (0, 1, 2), (argv, result.exit_code, result.output, result.stderr)
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        # A group given no command shows its help (click's no_args_is_help): a usage, not an error.
        no_command = not errors and result.stderr.startswith("Usage: ")
        assert len(errors) == 1 or no_command, (argv, result.stderr)
    elif result.exit_code == 1:
        said = [line for line in (result.output + result.stderr).splitlines() if line.strip()]
        assert said, argv
        assert said[-1].startswith(RUN_TIME_FAILURES), (argv, said[-1])


@pytest.mark.parametrize("command", sorted(OPTIONS))
@FEW
@given(data=st.data())
def test_any_command_line_is_done_refused_on_one_line_or_fails_on_one_line(
    command: str, data: st.DataObject
) -> None:
    _the_command_ends_cleanly(data.draw(command_lines(command), label="argv"))


@FEW
@given(
    st.lists(
        argv_text | st.sampled_from(["simulate", "whatif", "rejected", "rebuild", "stack", "demo"]),
        max_size=4,
    )
)
def test_any_words_after_amnesty_are_a_command_or_one_usage_error(argv: list[str]) -> None:
    _the_command_ends_cleanly(argv)
