"""A command whose input is valid but whose Kafka or PostgreSQL cannot be reached says so in one line and
exits 1; a setting the environment gets wrong is one line and exit 2. No traceback (each was one before)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from amnesty_simulator import cli as simulator_cli
from amnesty_simulator.world import World
from tests.unit.usage_errors import point_at_nothing, run


@pytest.fixture(autouse=True)
def nothing_listening(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    point_at_nothing(monkeypatch)
    # Credentials and keys given, so that each command gets as far as connecting, whatever .local holds.
    monkeypatch.setenv("AMNESTY_KAFKA_SASL_USERNAME", "upstream")
    monkeypatch.setenv("AMNESTY_KAFKA_SASL_PASSWORD", "not-a-real-password")
    keys = {}
    for producer in ("intake", "eligibility"):
        key = tmp_path / f"signing-{producer}.key"
        key.write_text("ab" * 32)
        keys[producer] = [str(key)]
    monkeypatch.setenv("AMNESTY_STATISTICS_VERIFYING_KEY_FILES", json.dumps(keys))


def _failure_line(args: list[str]) -> str:
    result = run(args)
    assert result.exit_code == 1, (result.output, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output + result.stderr
    return (result.output + result.stderr).strip().splitlines()[-1]


def test_simulate_with_no_broker_says_kafka_and_where_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulator_cli, "generate", lambda *_, **__: World())
    line = _failure_line(["simulate", "--to", "2022-01", "--quiet"])
    assert line.startswith("kafka: ")
    assert line.endswith(")")  # "(at 127.0.0.1:PORT)": the whole message on the one line


def test_rebuild_with_no_database_says_database_on_one_line() -> None:
    assert _failure_line(["rebuild", "statistics", "--quiet"]).startswith("database: ")


def test_a_setting_the_environment_gets_wrong_is_one_line_naming_it_and_never_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Through the installed command: the settings are read inside the commands, past click's handling.
    monkeypatch.setenv("AMNESTY_PG_PORT", "not-a-port")
    amnesty = Path(sys.executable).parent / "amnesty"
    done = subprocess.run(
        [amnesty, "stack", "status"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "Error: invalid setting pg_port (AMNESTY_PG_PORT) of InfraSettings: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]
    assert "not-a-port" not in done.stderr


def test_a_demo_port_that_is_no_port_is_one_line_naming_it_and_never_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMNESTY_ELIGIBILITY_HTTP_PORT", "80O2")
    amnesty = Path(sys.executable).parent / "amnesty"
    done = subprocess.run([amnesty, "demo"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "Error: invalid setting eligibility_http_port of DemoPorts: Input should be a valid integer, unable "
        "to parse string as an integer"
    ]
    assert "80O2" not in done.stderr


@pytest.mark.parametrize("service", ["intake", "eligibility", "statistics"])
def test_a_service_with_a_refused_setting_says_which_in_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    variable = f"AMNESTY_{service.upper()}_BATCH_WAIT_MS"
    monkeypatch.setenv(variable, "999")
    entry = Path(sys.executable).parent / f"amnesty-{service}"
    done = subprocess.run([entry], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"Error: invalid setting batch_wait_ms ({variable}) of {service.capitalize()}Settings: "
        "Input should be less than or equal to 500"
    ]


def test_a_stack_failure_is_printed_as_it_reads_not_as_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    """A StackError quotes log tails: bracketed text ("[main]", a pydantic "[type=…]") vanished as
    markup, and "[/a/path]" crashed the printing with a MarkupError instead of saying why."""
    from amnesty_runtime.stack import stack as stack_module
    from amnesty_runtime.stack.errors import StackError

    async def failing_up(_self: object) -> None:
        raise StackError("broker log: [main] ERROR in [/tmp/kafka.log]")

    monkeypatch.setattr(stack_module.Stack, "up", failing_up)
    result = run(["stack", "up"])
    assert result.exit_code == 1, (result.output, result.exception)
    assert "broker log: [main] ERROR in [/tmp/kafka.log]" in result.output
