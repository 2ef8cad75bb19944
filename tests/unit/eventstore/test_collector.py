"""The cyclic garbage collector paused while a bulk is built, and left as it was found."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from amnesty_eventstore.collector import collector_paused


@pytest.fixture(autouse=True)
def collecting_again() -> Iterator[None]:
    """Whatever a failing test left, the rest of the session collects garbage as before."""
    yield
    gc.enable()


def _failed_bulk(seen: list[bool]) -> None:
    with collector_paused():
        seen.append(gc.isenabled())
        raise RuntimeError("the bulk failed")


def test_paused_inside_and_collecting_again_after_even_when_the_bulk_fails() -> None:
    gc.enable()
    seen: list[bool] = []
    with pytest.raises(RuntimeError, match="the bulk failed"):
        _failed_bulk(seen)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_someone_else_paused_stays_paused() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_nested_pauses_resume_only_at_the_outermost() -> None:
    gc.enable()
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
