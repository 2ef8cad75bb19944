"""Every `amnesty` command's --help: a usage line that reads as the command is typed, help for each option."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from amnesty_runtime.cli import amnesty

COMMANDS = {
    "": "Usage: amnesty [OPTIONS] COMMAND [ARGS]...",
    "stack": "Usage: amnesty stack [OPTIONS] COMMAND [ARGS]...",
    "stack up": "Usage: amnesty stack up [OPTIONS]",
    "stack down": "Usage: amnesty stack down [OPTIONS]",
    "stack status": "Usage: amnesty stack status [OPTIONS]",
    "demo": "Usage: amnesty demo [OPTIONS]",
    "simulate": "Usage: amnesty simulate [OPTIONS]",
    "whatif": "Usage: amnesty whatif [OPTIONS]",
    "rebuild": "Usage: amnesty rebuild [OPTIONS] COMMAND [ARGS]...",
    "rebuild statistics": "Usage: amnesty rebuild statistics [OPTIONS]",
    "rejected": "Usage: amnesty rejected [OPTIONS] COMMAND [ARGS]...",
    "rejected list": "Usage: amnesty rejected list [OPTIONS]",
    "rejected show": "Usage: amnesty rejected show [OPTIONS] {ID}",
    "rejected redrive": "Usage: amnesty rejected redrive [OPTIONS] [ID]...",
}


def _commands(command: Any, path: str = "") -> dict[str, Any]:
    """Every command under ``command`` (typer's own click classes), by the words that invoke it."""
    found = {path: command}
    for name, sub in getattr(command, "commands", {}).items():
        found |= _commands(sub, f"{path} {name}".strip())
    return found


ALL = _commands(typer.main.get_command(amnesty()))


def test_the_table_covers_every_command() -> None:
    assert set(ALL) == set(COMMANDS)


@pytest.mark.parametrize(("path", "usage"), COMMANDS.items())
def test_the_usage_line_reads_as_the_command_is_typed(path: str, usage: str) -> None:
    result = CliRunner().invoke(amnesty(), [*path.split(), "--help"], prog_name="amnesty")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == usage
    assert lines[2].strip(), "a sentence on what the command does follows the usage line"


@pytest.mark.parametrize("path", sorted(ALL))
def test_every_option_says_what_it_does(path: str) -> None:
    silent = [
        param.opts[0]
        for param in ALL[path].params
        if param.param_type_name == "option" and not param.help and param.name != "help"
    ]
    assert silent == []


@pytest.mark.parametrize("path", ["simulate", "whatif", "rebuild statistics"])
def test_every_long_command_can_be_quiet(path: str) -> None:
    options = {opt for param in ALL[path].params for opt in param.opts}
    assert {"--quiet", "-q"} <= options
