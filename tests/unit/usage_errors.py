"""Bad input to the `amnesty` command: a usage error on one line with exit code 2, never a traceback."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from amnesty_runtime.cli import amnesty


def run(args: list[str]) -> Result:
    """`amnesty <args>` as installed: the runtime's commands and every registered plugin's."""
    return CliRunner().invoke(amnesty(), args)


def usage_error(args: list[str]) -> str:
    """The one error line `amnesty <args>` prints, without its "Error: " prefix."""
    result = run(args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0].removeprefix("Error: ")
