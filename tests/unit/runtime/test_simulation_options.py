"""--scale and --speed, as `amnesty simulate` and `amnesty demo` take them, and the demo's own checks."""

from __future__ import annotations

import math

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from amnesty_runtime import cli, simulation
from tests.unit.usage_errors import run, usage_error


@given(st.one_of(st.text(), st.floats()))
def test_any_scale_parses_within_its_bounds_or_is_a_bad_parameter(value: str | float) -> None:
    try:
        scale = simulation.scale(value)
    except typer.BadParameter:
        return
    assert 0 < scale <= simulation.MAX_SCALE


@given(st.one_of(st.none(), st.text(), st.floats()))
def test_any_speed_is_max_or_a_positive_number_or_a_bad_parameter(value: str | float | None) -> None:
    try:
        speed = simulation.speed(value)
    except typer.BadParameter:
        return
    assert speed is None or (0 < speed < math.inf)


@given(st.floats(min_value=0, max_value=simulation.MAX_SCALE, exclude_min=True))
def test_a_scale_the_demo_passes_on_reads_back_the_same(scale: float) -> None:
    # The demo starts `amnesty simulate --scale {scale}`: the text must parse to the same number.
    assert simulation.scale(f"{scale}") == scale


@given(st.floats(min_value=0, exclude_min=True, allow_infinity=False))
def test_a_speed_the_demo_passes_on_reads_back_the_same(speed: float) -> None:
    assert simulation.speed(f"{speed}") == speed


@pytest.mark.parametrize("text", ["max", "MAX", " max "])
def test_max_is_no_pacing(text: str) -> None:
    assert simulation.speed(text) is None


@pytest.fixture
def no_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the demo started the stack")

    monkeypatch.setattr(cli, "Stack", refuse)


@pytest.mark.usefixtures("no_stack")
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--scale", "0"],
            "Invalid value for '--scale': 0 is out of range: the scale must be above 0 and at most 50",
        ),
        (
            ["--scale", "1000"],
            "Invalid value for '--scale': 1000 is out of range: the scale must be above 0 and at most 50",
        ),
        (
            ["--speed", "fast"],
            "Invalid value for '--speed': 'fast' is neither 'max' nor a number of simulated seconds "
            "per second",
        ),
    ],
)
def test_a_bad_demo_value_is_one_usage_error_before_the_stack_starts(args: list[str], line: str) -> None:
    assert usage_error(["demo", *args]) == line


@pytest.mark.usefixtures("no_stack")
def test_a_demo_seed_is_a_whole_number() -> None:
    assert usage_error(["demo", "--seed", "abc"]).startswith("Invalid value for '--seed': ")


def test_the_plugins_are_registered_once() -> None:
    app = cli.amnesty()
    names = [g.name for g in app.registered_groups] + [c.name for c in app.registered_commands]
    assert cli.amnesty() is cli.amnesty()
    assert len(names) == len(set(names))
    assert {"simulate", "whatif", "rebuild", "stack"} <= set(names)


def test_an_unknown_command_is_a_usage_error() -> None:
    assert "No such command" in usage_error(["simulte"])


def test_the_demo_help_states_the_scale_bound() -> None:
    assert "at most 50" in run(["demo", "--help"]).output
