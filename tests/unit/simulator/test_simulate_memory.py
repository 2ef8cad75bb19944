"""`amnesty simulate` builds its history without the cyclic garbage collector, and gives it back after."""

from __future__ import annotations

import gc

import pytest

from amnesty_simulator import cli
from amnesty_simulator.world import World
from tests.unit.usage_errors import run


def test_no_collection_while_the_history_is_built_and_all_as_before_once_the_command_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collecting_while_built: list[bool] = []

    def generate(*_: object, **__: object) -> World:
        collecting_while_built.append(gc.isenabled())
        return World()

    monkeypatch.setattr(cli, "generate", generate)
    frozen_before = gc.get_freeze_count()
    assert gc.isenabled()

    result = run(["simulate", "--dry-run", "--quiet", "--from", "2024-01", "--to", "2024-01"])

    assert result.exit_code == 0, result.output
    assert collecting_while_built == [False]
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen_before  # unfrozen again: nothing kept from collection
