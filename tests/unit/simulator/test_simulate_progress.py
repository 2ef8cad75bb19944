"""`amnesty simulate` shows how far generation and publishing are, at a terminal only, never with --quiet."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

import pytest
from rich.console import Console

from amnesty_simulator import cli
from tests.unit.usage_errors import run

SMALL = ["simulate", "--from", "2024-11", "--to", "2024-12", "--scale", "0.01"]


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """What a publisher that reports every message sent at once was given (no broker needed)."""
    counts: list[int] = []

    async def publish(
        messages: list[object],
        *,
        kafka: object,
        topic: str,
        speed: float | None,
        sent: Callable[[int, date], None],
    ) -> float:
        counts.append(len(messages))
        sent(len(messages), date(2024, 12, 31))
        return 1.0

    # An external broker without credentials: no local stack's credentials file is needed.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setattr(cli, "publish", publish)
    return counts


def _stderr(monkeypatch: pytest.MonkeyPatch, *, terminal: bool) -> io.StringIO:
    out = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=out, force_terminal=terminal, width=120))
    return out


def test_a_terminal_sees_generation_and_publishing_progress(
    monkeypatch: pytest.MonkeyPatch, published: list[int]
) -> None:
    stderr = _stderr(monkeypatch, terminal=True)
    assert run(SMALL).exit_code == 0
    shown = stderr.getvalue()
    assert "generating months" in shown
    assert "2/2" in shown, "both months generated"
    assert "writing submissions" in shown
    assert published[0] > 0
    assert f"{published[0]}/{published[0]}" in shown, "every message published"
    assert "publishing, up to 2024-12-31" in shown


def test_no_progress_when_stderr_is_no_terminal(
    monkeypatch: pytest.MonkeyPatch, published: list[int]
) -> None:
    stderr = _stderr(monkeypatch, terminal=False)
    assert run(SMALL).exit_code == 0
    shown = stderr.getvalue()
    assert "published" in shown, "the result still prints"
    assert "generating" not in shown
    assert "publishing" not in shown


@pytest.mark.parametrize("flag", ["--quiet", "-q"])
def test_quiet_hides_progress_even_at_a_terminal(
    monkeypatch: pytest.MonkeyPatch, published: list[int], flag: str
) -> None:
    stderr = _stderr(monkeypatch, terminal=True)
    assert run([*SMALL, flag]).exit_code == 0
    shown = stderr.getvalue()
    assert "published" in shown
    assert "generating" not in shown
    assert "publishing" not in shown
