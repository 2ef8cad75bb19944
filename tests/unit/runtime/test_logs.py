"""One log format for everything: structlog's lines and the libraries', JSON lines naming service and
logger, the message being handled, rotated files, a readable console only at a terminal."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from faststream.kafka import TestKafkaBroker

from amnesty_runtime.brokers import kafka_broker
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.logs import LogFile, configure_logging, configure_service_logging
from amnesty_runtime.settings import ServiceSettings

REQUIRED = {"timestamp", "level", "service", "logger", "event"}


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    logging.getLogger().handlers.clear()
    logging.captureWarnings(False)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_every_line_is_one_json_object_naming_service_and_logger(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("intake", json=True)
    structlog.get_logger("amnesty_intake.probe").info("submissions admitted", count=3)
    logging.getLogger("uvicorn.error").info(
        "Started server process [%d]", 42, extra={"color_message": "Started \x1b[36m%d\x1b[0m"}
    )
    logging.getLogger("faststream").warning("from FastStream's own logger")
    logging.getLogger("asyncpg").warning("from asyncpg")
    text = capsys.readouterr().err
    lines = _json_lines(text)
    assert "\x1b" not in text
    assert [(line["logger"], line["event"]) for line in lines] == [
        ("amnesty_intake.probe", "submissions admitted"),
        ("uvicorn.error", "Started server process [42]"),
        ("faststream", "from FastStream's own logger"),
        ("asyncpg", "from asyncpg"),
    ]
    assert all(line.keys() >= REQUIRED and line["service"] == "intake" for line in lines)
    assert lines[0]["count"] == 3


def test_a_logged_exception_keeps_its_traceback_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("intake", json=True)
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        structlog.get_logger("probe").exception("batch failed", size=3)
    line = _json_lines(capsys.readouterr().err)[-1]
    assert (line["event"], line["size"], line["level"]) == ("batch failed", 3, "error")
    assert "ZeroDivisionError: division by zero" in line["exception"]


@pytest.mark.parametrize("json", [True, False])
def test_a_traceback_never_shows_local_variables(capsys: pytest.CaptureFixture[str], json: bool) -> None:
    configure_logging("intake", json=json)
    person_id = "3012345678"
    try:
        raise ValueError(f"bad submission of length {len(person_id)}")
    except ValueError:
        structlog.get_logger("probe").exception("batch failed")
    output = capsys.readouterr().err
    assert "bad submission of length 10" in output
    assert "3012345678" not in output


def test_json_is_the_default_when_stderr_is_no_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("statistics")
    structlog.get_logger("probe").info("read model switched")
    assert _json_lines(capsys.readouterr().err)[0]["event"] == "read model switched"


def test_a_terminal_gets_readable_coloured_lines_unless_json_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    configure_logging("statistics")
    structlog.get_logger("probe").info("read model switched")
    configure_logging("statistics", json=True)
    structlog.get_logger("probe").info("read model switched again")
    readable, as_json = terminal.getvalue().splitlines()
    assert "read model switched" in readable
    assert "\x1b[" in readable
    assert json.loads(as_json)["event"] == "read model switched again"


def test_a_named_instance_is_on_every_line_and_an_unnamed_one_on_none(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_service_logging(
        "intake", ServiceSettings(http_port=8001, log_json=True, instance_id="intake-2")
    )
    structlog.get_logger("amnesty_intake.probe").info("batch applied")
    logging.getLogger("aiokafka").warning("from a library")
    named = _json_lines(capsys.readouterr().err)
    configure_service_logging("intake", ServiceSettings(http_port=8001, log_json=True))
    structlog.get_logger("amnesty_intake.probe").info("batch applied")
    unnamed = _json_lines(capsys.readouterr().err)
    assert [line["instance"] for line in named] == ["intake-2", "intake-2"]
    assert ["instance" in line for line in unnamed] == [False]


def test_the_service_settings_choose_the_file_and_its_rotation(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "eligibility.log"
    settings = ServiceSettings(
        http_port=8002, log_file=path, log_file_max_bytes=2_000, log_file_backups=2, log_level="DEBUG"
    )
    configure_service_logging("eligibility", settings)
    for n in range(200):
        structlog.get_logger("probe").debug("batch applied", applied=n)
    logging.getLogger().handlers[0].close()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["eligibility.log", "eligibility.log.1", "eligibility.log.2"]
    for file in path.parent.iterdir():
        assert file.stat().st_size <= 2_000
        assert all(line["service"] == "eligibility" for line in _json_lines(file.read_text()))
    assert _json_lines(path.read_text())[-1]["applied"] == 199


def test_a_log_file_gets_json_and_no_colours_even_from_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    configure_logging("intake", file=LogFile(tmp_path / "intake.log", 1_000_000, 1))
    structlog.get_logger("probe").warning("outbox relay lost its leadership")
    logging.getLogger().handlers[0].close()
    text = (tmp_path / "intake.log").read_text()
    assert "\x1b" not in text
    assert _json_lines(text)[0]["event"] == "outbox relay lost its leadership"
    assert terminal.getvalue() == ""


async def test_a_line_logged_while_a_message_is_handled_names_its_correlation_and_causation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("eligibility", json=True)
    broker = kafka_broker(KafkaClientOptions("127.0.0.1:9092"), "amnesty-eligibility")
    started: list[asyncio.Task[None]] = []

    async def commit() -> None:
        structlog.get_logger("probe").info("batch committed")

    @broker.subscriber("amnesty.cases.v1", group_id="eligibility")
    async def handle(_body: Any) -> None:
        structlog.get_logger("probe").info("batch prepared")
        # Like the batch pipeline: the commit runs in a task started while the batch is handled.
        started.append(asyncio.create_task(commit()))

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish({"n": 1}, "amnesty.cases.v1", correlation_id="chain-1")
        await asyncio.gather(*started)
    structlog.get_logger("probe").info("between messages")
    prepared, committed, between = _json_lines(capsys.readouterr().err)
    assert prepared["correlation_id"] == committed["correlation_id"] == "chain-1"
    assert prepared["causation_id"] == committed["causation_id"] != ""
    assert "correlation_id" not in between
    assert "causation_id" not in between


def test_a_line_below_the_level_is_dropped_before_any_processing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stamped: list[str] = []
    stamp = structlog.processors.TimeStamper.__call__

    def counting(self: Any, logger: Any, name: str, event: Any) -> Any:
        stamped.append(name)
        return stamp(self, logger, name, event)

    monkeypatch.setattr(structlog.processors.TimeStamper, "__call__", counting)
    configure_logging("intake", json=True, level="INFO")
    probe = structlog.get_logger("amnesty_intake.probe")
    probe.debug("batch applied", applied=500)
    probe.info("submissions admitted", count=3)
    assert stamped == ["info"]
    assert [line["event"] for line in _json_lines(capsys.readouterr().err)] == ["submissions admitted"]
