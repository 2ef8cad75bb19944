"""The person cache: a person of a committed batch is decided again without reading their stream, and
an entry that fell behind the store is refused by it, dropped, and read again."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import pytest

from amnesty_contracts import DECISIONS
from amnesty_eligibility.adapters.person_streams import Loaded
from amnesty_eligibility.domain.person import Person
from amnesty_eligibility.service_layer.handlers import Eligibility
from amnesty_eligibility.service_layer.person_cache import PersonCache
from amnesty_eventstore import ConcurrencyError
from amnesty_eventstore.consumption import Delivery
from amnesty_runtime.policy import BatchReport
from tests.support.domain_events import EventFactory

from .examples import NOW, RULES
from .fake_store import FakePersonStore

CASES = "cases"


class CountingStore(FakePersonStore):
    """The fake store, counting the persons whose streams it was asked to read."""

    reads: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.reads = []

    async def load(self, persons: Sequence[str], event_ids: Sequence[UUID]) -> Loaded:
        self.reads += persons
        return await super().load(persons, event_ids)


def cached_policy(store: FakePersonStore, capacity: int = 100) -> Eligibility:
    return Eligibility(
        schema="eligibility",
        rules=RULES,
        store=lambda _conn: store,
        clock=lambda: NOW,
        cache=PersonCache(capacity),
    )


async def apply(policy: Eligibility, *values: bytes, start: int = 0, commit: bool = True) -> BatchReport:
    batch = [Delivery(CASES, 0, start + i, b"p1", v) for i, v in enumerate(values)]
    report = await policy.prepare(batch)(None, batch)  # type: ignore[arg-type]  # the fake needs no conn
    if commit and report.after_commit is not None:
        report.after_commit()
    return report


def history() -> tuple[bytes, bytes]:
    f = EventFactory()
    opened = f.case_opened("p1", "c1", "2024-11-10", absent_since="2024-11-01")
    returned = f.voluntary_return("p1", "2024-12-20", case="c1")
    return opened.model_dump_json().encode(), returned.model_dump_json().encode()


async def test_a_person_of_a_committed_batch_is_decided_again_without_a_read() -> None:
    store = CountingStore()
    policy = cached_policy(store)
    opened, returned = history()
    await apply(policy, opened)
    await apply(policy, returned, start=1)
    assert store.reads == ["p1"], "the return found the person in the cache"
    (decision,) = store.published(DECISIONS)
    assert (decision.type, decision.document["data"]["regime"]) == ("AmnestyGranted", "window-1")
    assert len(store.streams["person-p1"]) == 3


async def test_a_batch_that_did_not_commit_leaves_the_cache_as_it_was() -> None:
    store = CountingStore()
    policy = cached_policy(store)
    opened, returned = history()
    await apply(policy, opened, commit=False)  # rolled back: in the store, not in the cache
    assert len(policy.cache) == 0
    store.streams.clear()  # what a rollback leaves of the fake's append
    await apply(policy, opened, returned)
    assert store.reads == ["p1", "p1"]
    assert [e.type for e in store.streams["person-p1"]] == ["CaseOpened", "VoluntaryReturn", "AmnestyGranted"]


async def test_an_entry_behind_the_store_is_refused_dropped_and_read_again() -> None:
    store = CountingStore()
    policy = cached_policy(store)
    opened, returned = history()
    await apply(policy, opened)
    # Another member wrote the stream meanwhile (the partition moved and came back): the cache is behind.
    writer = cached_policy(store)
    await apply(writer, EventFactory().detained("p1", "2024-11-20", case="c1").model_dump_json().encode())
    with pytest.raises(ConcurrencyError):
        await apply(policy, returned, start=1)
    assert len(policy.cache) == 0
    await apply(policy, returned, start=1)  # the batch again
    assert store.reads == ["p1", "p1", "p1"]
    # Decided on the stream as the store has it, the other member's detention included.
    facts = [e.type for e in store.streams["person-p1"] if e.topic is None]
    assert facts == ["CaseOpened", "Detained", "VoluntaryReturn"]


def test_the_least_recently_used_persons_go_first() -> None:
    cache = PersonCache(capacity=2)
    person = Person.replay("p", [], [])
    cache.remember({"a": (1, person), "b": (1, person)})
    assert cache.find(["a"]) == {"a": (1, person)}  # a is used: b is now the oldest
    cache.remember({"c": (1, person)})
    assert cache.find(["a", "b", "c"]).keys() == {"a", "c"}
    cache.drop(["a"])
    assert cache.find(["a", "c"]).keys() == {"c"}
    cache.forget()
    assert len(cache) == 0


def test_a_cache_of_no_capacity_keeps_nothing() -> None:
    cache = PersonCache(capacity=0)
    cache.remember({"a": (1, Person.replay("p", [], []))})
    assert len(cache) == 0
