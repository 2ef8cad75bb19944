"""Bad input to the `amnesty` command: a usage error on one line with exit code 2, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from amnesty_runtime.cli import amnesty
from amnesty_runtime.settings import SERVICES
from amnesty_runtime.stack.ports import free_port


def point_at_nothing(patch: pytest.MonkeyPatch) -> None:
    """No database or broker from the environment, and the local stack's ports on free ones where
    nothing listens: a command under test can never reach a real system."""
    database_urls = [f"AMNESTY_{s.upper()}_DATABASE_URL" for s in SERVICES]
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", *database_urls):
        patch.delenv(name, raising=False)
    patch.setenv("AMNESTY_PG_PORT", str(free_port()))
    patch.setenv("AMNESTY_KAFKA_PORT", str(free_port()))


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
