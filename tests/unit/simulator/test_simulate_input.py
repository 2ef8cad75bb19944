"""`amnesty simulate` checks every option before generating anything."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from amnesty_simulator import cli
from amnesty_simulator.simulated_months import CoveredMonth, YearMonth
from amnesty_simulator.submissions import submissions
from amnesty_simulator.world import World
from tests.unit.usage_errors import run, usage_error


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the command asked to be generated: the world's months, scale and seed, one entry per run."""
    calls: list[dict[str, Any]] = []

    def generate(*_: object, advance: object = None, **kwargs: Any) -> World:
        calls.append(kwargs)
        return World()

    monkeypatch.setattr(cli, "generate", generate)
    return calls


OUTSIDE = "is outside 2022-01..2025-10, the months the published figures cover"
NOT_A_MONTH = "is not a month: months run from 01 to 12"
SCALE_RANGE = "is out of range: the scale must be above 0 and at most 50"
NOT_A_SCALE = "is not a number; the scale is a share such as 0.1 or 2"
SPEED_RANGE = "is out of range: give 'max' or simulated seconds per real second, above 0"


@pytest.mark.parametrize(
    ("args", "option", "message"),
    [
        (["--from", "2022-13"], "--from", f"2022-13 {NOT_A_MONTH}"),
        (["--to", "2024-00"], "--to", f"2024-00 {NOT_A_MONTH}"),
        (["--from", "2022-1"], "--from", "'2022-1' is not a month: write it YYYY-MM, e.g. 2024-11"),
        (["--from", "2021-12"], "--from", f"2021-12 {OUTSIDE}"),
        (["--to", "2025-11"], "--to", f"2025-11 {OUTSIDE}"),
        (["--from", "2025-01", "--to", "2024-01"], "--to", "2024-01 is before --from 2025-01"),
        (["--to", "2024-01", "--from", "2025-01"], "--to", "2024-01 is before --from 2025-01"),
        (["--from", "2025-10"], "--to", "2025-09 is before --from 2025-10"),
        (["--scale", "0"], "--scale", f"0 {SCALE_RANGE}"),
        (["--scale", "-1"], "--scale", f"-1 {SCALE_RANGE}"),
        (["--scale", "51"], "--scale", f"51 {SCALE_RANGE}"),
        (["--scale", "inf"], "--scale", f"inf {SCALE_RANGE}"),
        (["--scale", "nan"], "--scale", f"'nan' {NOT_A_SCALE}"),
        (["--scale", "a tenth"], "--scale", f"'a tenth' {NOT_A_SCALE}"),
        (
            ["--speed", "fast"],
            "--speed",
            "'fast' is neither 'max' nor a number of simulated seconds per second",
        ),
        (["--speed", "0"], "--speed", f"0 {SPEED_RANGE}"),
        (["--speed", "-86400"], "--speed", f"-86400 {SPEED_RANGE}"),
        (["--speed", "inf"], "--speed", f"inf {SPEED_RANGE}"),
        (
            ["--topic", "no spaces"],
            "--topic",
            "'no spaces' is not a Kafka topic name: 1 to 249 of a-z, A-Z, 0-9, '.', '_' and '-'",
        ),
    ],
)
def test_a_bad_value_is_one_usage_error_and_nothing_is_generated(
    generated: list[dict[str, Any]], args: list[str], option: str, message: str
) -> None:
    assert usage_error(["simulate", *args, "--dry-run"]) == f"Invalid value for '{option}': {message}"
    assert generated == []


@pytest.mark.parametrize("seed", ["x", "1.5", ""])
def test_a_seed_is_a_whole_number(generated: list[dict[str, Any]], seed: str) -> None:
    assert usage_error(["simulate", "--seed", seed, "--dry-run"]).startswith("Invalid value for '--seed': ")
    assert generated == []


@pytest.mark.timeout(20)
def test_month_13_returns_at_once_instead_of_counting_months_forever() -> None:
    # Measured before the fix: the month loop never wrapped at 13 and grew to 23 GB until killed.
    assert usage_error(["simulate", "--from", "2022-13", "--dry-run"]).startswith(
        "Invalid value for '--from'"
    )


def test_good_values_reach_generation_parsed(generated: list[dict[str, Any]]) -> None:
    result = run(
        ["simulate", "--from", "2024-11", "--to", "2025-02", "--scale", "0.5", "--seed", "7", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert generated == [{"first": (2024, 11), "last": (2025, 2), "scale": 0.5, "seed": 7}]


def test_the_defaults_are_the_demo_history(generated: list[dict[str, Any]]) -> None:
    assert run(["simulate", "--dry-run"]).exit_code == 0
    assert generated == [{"first": (2022, 1), "last": (2025, 9), "scale": 1.0, "seed": 2024}]


@pytest.mark.parametrize(("speed", "parsed"), [("max", None), ("86400", 86400.0), ("0.5", 0.5)])
def test_the_speed_reaches_the_publisher(
    monkeypatch: pytest.MonkeyPatch, generated: list[dict[str, Any]], speed: str, parsed: float | None
) -> None:
    published: list[float | None] = []

    async def publish(
        messages: object, *, kafka: object, topic: str, speed: float | None, sent: object
    ) -> float:
        published.append(speed)
        return 1.0

    # An external broker without credentials: no local stack's credentials file is needed.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setattr(cli, "publish", publish)
    assert run(["simulate", "--speed", speed, "--to", "2022-01"]).exit_code == 0
    assert published == [parsed]


def test_the_help_states_the_covered_months_and_the_scale_bound() -> None:
    text = run(["simulate", "--help"]).output
    assert "2022-01..2025-10" in text
    assert "at most 50" in text


def test_an_empty_history_has_nothing_to_send() -> None:
    # A tiny scale over a few months can generate nothing at all; that is no reason to fail.
    assert submissions(World(), seed=1) == []


COVERED = CoveredMonth((2022, 1), (2025, 10))


@given(st.text())
def test_any_text_is_a_covered_month_or_a_bad_parameter(text: str) -> None:
    try:
        month = COVERED(text)
    except typer.BadParameter:
        return
    assert isinstance(month, YearMonth)
    assert (2022, 1) <= month <= (2025, 10)
    assert str(month) == text


@given(st.integers(-1, 10_000), st.integers(-1, 99))
def test_any_year_and_month_number_is_a_covered_month_or_a_bad_parameter(year: int, number: int) -> None:
    text = f"{year:04d}-{number:02d}"
    try:
        month = COVERED(text)
    except typer.BadParameter:
        assert not (1 <= number <= 12 and (2022, 1) <= (year, number) <= (2025, 10))
        return
    assert month == (year, number)
