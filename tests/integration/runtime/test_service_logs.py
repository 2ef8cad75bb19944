"""A real service's log, read back line by line: one JSON object per line naming the service, the logger
and, while a batch is handled, its correlation; FastStream's per-batch lines only at DEBUG; rotated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.brokers import BROKER_LOGGER
from amnesty_runtime.stack import Endpoints
from tests.support.intake import encoded, intake_under_test, submission

pytestmark = pytest.mark.integration

PER_BATCH = {"Received", "Processed"}


async def _run_intake(endpoints: Endpoints, admin_pool: Pool, tmp_path: Path, **env: str) -> Path:
    """Intake started with ``env``, given a few submissions, stopped; returns its console output."""
    output = tmp_path / "intake.out"
    async with intake_under_test(endpoints, admin_pool, output) as intake:
        intake.process.env |= env
        await intake.process.start()
        await intake.publish([encoded(submission(submission_id=f"log-{n}")) for n in range(30)])
        await intake.consumed_everything()
        await intake.process.stop()  # uvicorn shuts down gracefully, then re-raises SIGTERM
    return output


def _lines(*files: Path) -> list[dict[str, Any]]:
    text = "".join(file.read_text() for file in files)
    assert "\x1b" not in text, "no ANSI colour codes in a log file"
    return [json.loads(line) for line in text.splitlines()]


async def test_at_info_every_line_is_json_naming_service_and_logger_without_per_batch_lines(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    lines = _lines(await _run_intake(endpoints, admin_pool, tmp_path, AMNESTY_INTAKE_LOG_LEVEL="INFO"))
    assert lines, "the service logged its start and stop"
    for line in lines:
        assert line.keys() >= {"timestamp", "level", "service", "logger", "event"}, line
        assert line["service"] == "intake"
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", BROKER_LOGGER} <= loggers, "uvicorn's and FastStream's lines are JSON too"
    assert not [line for line in lines if line["event"] in PER_BATCH]


async def test_at_debug_a_rotated_log_file_holds_per_batch_lines_with_their_correlation(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "intake.log"
    output = await _run_intake(
        endpoints,
        admin_pool,
        tmp_path,
        AMNESTY_INTAKE_LOG_LEVEL="DEBUG",
        AMNESTY_INTAKE_LOG_FILE=str(log),
        AMNESTY_INTAKE_LOG_FILE_MAX_BYTES="1500",
        AMNESTY_INTAKE_LOG_FILE_BACKUPS="50",
    )
    assert output.read_text() == "", "with a log file, nothing goes to the console"
    files = sorted(log.parent.iterdir())
    assert len(files) > 1, "the log rotated"
    assert all(file.stat().st_size <= 1500 for file in files)
    lines = _lines(*files)
    per_batch = [line for line in lines if line["event"] in PER_BATCH]
    assert per_batch
    assert {line["level"] for line in per_batch} == {"debug"}
    # FastStream names the batch (its message id) on its own lines; what the batch's handling logs
    # carries that id as its cause, with the batch's correlation id.
    batches = {line["message_id"] for line in per_batch}
    applied = [line for line in lines if line["event"] == "batch applied"]
    assert applied
    for line in applied:
        assert line["causation_id"] in batches, line
        assert line["correlation_id"], line
