"""The collector's settings for a batch process (amnesty_runtime.heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from amnesty_runtime.heap import MIDDLE, OLD, YOUNG, settle_heap


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_what_start_up_built_is_frozen_and_young_collections_come_rarely() -> None:
    gc.unfreeze()
    survivor: list[object] = []  # tracked by the collector, as a container
    assert any(o is survivor for o in gc.get_objects())

    settle_heap()

    assert gc.get_threshold() == (YOUNG, MIDDLE, OLD)
    # Frozen: in no generation a collection scans.
    assert gc.get_freeze_count() > 0
    assert not any(o is survivor for o in gc.get_objects())
