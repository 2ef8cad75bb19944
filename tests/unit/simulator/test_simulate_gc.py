"""`amnesty simulate` builds its history without the cyclic garbage collector, keeps it out of later
collections while it is published, and gives it back when the command ends."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from amnesty_simulator import cli
from amnesty_simulator.world import World
from tests.unit.usage_errors import run

DRY_RUN = ["simulate", "--dry-run", "--quiet", "--from", "2024-01", "--to", "2024-01"]


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """Whatever a failing test left, the rest of the session collects garbage as before."""
    yield
    gc.enable()
    gc.unfreeze()


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What the collector was doing while the history was generated and once it was built."""
    seen: dict[str, object] = {}

    def generate(*_: object, **__: object) -> World:
        seen["collecting while built"] = gc.isenabled()
        return World()

    summarise = cli._summarise

    def summarised(*args: object) -> None:  # runs once the history is built, before it is published
        seen["frozen once built"] = gc.get_freeze_count() > 0
        seen["collecting once built"] = gc.isenabled()
        summarise(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "generate", generate)
    monkeypatch.setattr(cli, "_summarise", summarised)
    return seen


@pytest.mark.usefixtures("collector_restored")
def test_no_collection_while_built_frozen_once_built_all_as_before_once_the_command_ends(
    seen: dict[str, object],
) -> None:
    gc.unfreeze()
    result = run(DRY_RUN)

    assert result.exit_code == 0, result.output
    assert seen == {"collecting while built": False, "frozen once built": True, "collecting once built": True}
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("collector_restored")
def test_objects_someone_else_froze_stay_frozen(seen: dict[str, object]) -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    result = run(DRY_RUN)

    assert result.exit_code == 0, result.output
    # Still frozen (an unfreeze would leave none), and nothing more (a freeze of its own would add the
    # command's objects); frozen objects freed meanwhile leave the count.
    assert 0 < gc.get_freeze_count() <= frozen
