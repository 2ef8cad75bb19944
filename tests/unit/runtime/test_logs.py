"""Service logs are JSON lines that keep the traceback of a logged exception."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from amnesty_runtime.logs import configure_logging


def test_a_logged_exception_keeps_its_traceback_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True)
    try:
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            structlog.get_logger("probe").exception("batch failed", size=3)
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()
    assert (line["event"], line["size"], line["level"]) == ("batch failed", 3, "error")
    assert "ZeroDivisionError: division by zero" in line["exception"]


@pytest.mark.parametrize("json", [True, False])
def test_a_traceback_never_shows_local_variables(capsys: pytest.CaptureFixture[str], json: bool) -> None:
    configure_logging(json=json)
    try:
        person_id = "3012345678"
        try:
            raise ValueError(f"bad submission of length {len(person_id)}")
        except ValueError:
            structlog.get_logger("probe").exception("batch failed")
        output = capsys.readouterr().err
    finally:
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()
    assert "bad submission of length 10" in output
    assert "3012345678" not in output
