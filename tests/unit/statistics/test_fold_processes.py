"""A rebuild folded over worker processes comes to what one in-memory fold of the same messages does."""

from __future__ import annotations

import pytest

from amnesty_contracts import DECISION_EVENT_MODELS
from amnesty_eventstore.consumption import Delivery
from amnesty_statistics.adapters import person_states
from amnesty_statistics.adapters.fold_processes import FoldProcesses, owner
from amnesty_statistics.domain.figures import Counts
from amnesty_statistics.service_layer.rebuilding import InMemoryFold
from tests.support.domain_events import encoded
from tests.support.event_stream import Event, history

CASES, DECISIONS = "cases", "decisions"


def delivered(event: Event, offset: int, key: bytes | None = None) -> Delivery:
    topic = DECISIONS if event.type in DECISION_EVENT_MODELS else CASES
    return Delivery(topic, 0, offset, event.person.encode() if key is None else key, encoded(event))


def in_one_fold(events: list[Event]) -> tuple[dict[str, str], Counts]:
    fold = InMemoryFold()
    fold.take(events)
    return {p: person_states.encode(s) for p, s in fold.states.items()}, fold.figures()


@pytest.mark.parametrize("workers", [1, 2, 3])
async def test_the_workers_fold_what_one_fold_does(workers: int) -> None:
    events = history(11, persons=60)
    deliveries = [delivered(e, i) for i, e in enumerate(events)]
    with FoldProcesses(workers, DECISIONS) as folds:
        for start in range(0, len(deliveries), 37):
            await folds.take(deliveries[start : start + 37])
        folded = await folds.finish()
    persons, figures = in_one_fold(events)
    assert dict(folded.persons) == persons
    assert len(folded.persons) == len(persons), "each person folded by one worker only"
    assert folded.figures == figures
    assert folded.skipped == {}


async def test_a_message_keyed_by_another_person_reaches_its_persons_worker() -> None:
    events = history(5, persons=30)
    # Every message keyed as if it were another person's: it lands with the wrong worker first.
    wrong = {e.person: b"k" + e.person.encode() for e in events}
    assert any(owner(wrong[e.person], 2) != owner(e.person.encode(), 2) for e in events)
    deliveries = [delivered(e, i, wrong[e.person]) for i, e in enumerate(events)]
    with FoldProcesses(2, DECISIONS) as folds:
        await folds.take(deliveries)
        folded = await folds.finish()
    persons, figures = in_one_fold(events)
    assert dict(folded.persons) == persons
    assert len(folded.persons) == len(persons)
    assert folded.figures == figures


async def test_unreadable_messages_are_counted_as_skipped() -> None:
    events = history(3, persons=5)
    junk = [Delivery(CASES, 1, 0, b"x", b"not json"), Delivery(DECISIONS, 1, 0, None, b'{"type": "Nope"}')]
    with FoldProcesses(2, DECISIONS) as folds:
        await folds.take([*junk, *(delivered(e, i) for i, e in enumerate(events))])
        folded = await folds.finish()
    assert sum(folded.skipped.values()) == 2
    assert dict(folded.persons) == in_one_fold(events)[0]
