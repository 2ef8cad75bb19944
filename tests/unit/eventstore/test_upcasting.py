"""Upcaster chains: each step one version up, to the type's current version."""

from __future__ import annotations

from typing import Any

import pytest

from amnesty_eventstore import UpcastError, Upcasters


def step(version: int) -> Any:
    def upcast(payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "steps": [*payload.get("steps", []), version]}

    return upcast


def test_a_payload_is_brought_to_the_current_version_step_by_step() -> None:
    registry = Upcasters()
    for version in (2, 1, 3):  # registration order does not matter
        registry.register("CaseOpened", version, step(version))
    assert registry.current_version("CaseOpened") == 4
    assert registry.upcast("CaseOpened", 1, {}) == (4, {"steps": [1, 2, 3]})
    assert registry.upcast("CaseOpened", 3, {}) == (4, {"steps": [3]})


def test_a_current_payload_and_a_type_without_upcasters_are_unchanged() -> None:
    registry = Upcasters()
    registry.register("CaseOpened", 1, step(1))
    payload = {"a": 1}
    assert registry.upcast("CaseOpened", 2, payload) == (2, payload)
    assert registry.upcast("Detained", 1, payload) == (1, payload)
    assert registry.current_version("Detained") is None


def test_needs_upcast_is_true_only_below_the_current_version() -> None:
    registry = Upcasters()
    assert not registry
    registry.register("CaseOpened", 1, step(1))
    assert registry
    assert registry.needs_upcast("CaseOpened", 1)
    assert not registry.needs_upcast("CaseOpened", 2)
    assert not registry.needs_upcast("Detained", 1)


def test_a_missing_step_is_an_error_on_read() -> None:
    registry = Upcasters()
    registry.register("CaseOpened", 1, step(1))
    registry.register("CaseOpened", 3, step(3))
    with pytest.raises(UpcastError, match="no upcaster of CaseOpened from v2"):
        registry.upcast("CaseOpened", 1, {})


def test_a_step_registered_twice_is_refused() -> None:
    registry = Upcasters()
    registry.register("CaseOpened", 1, step(1))
    with pytest.raises(ValueError, match="already registered"):
        registry.register("CaseOpened", 1, step(1))
    with pytest.raises(ValueError, match="start at 1"):
        registry.register("CaseOpened", 0, step(0))


def test_the_decorator_registers_and_returns_the_function() -> None:
    registry = Upcasters()

    @registry.upcaster("CaseClosed", 1)
    def add_outcome(payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "outcome": "other"}

    assert add_outcome({}) == {"outcome": "other"}
    assert registry.upcast("CaseClosed", 1, {}) == (2, {"outcome": "other"})
