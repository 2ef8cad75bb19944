"""The eligibility policy in-process over an in-memory store, and its Kafka door on FastStream's test
broker: a first offence returned inside window-1 is granted, once; an unreadable message is dead-lettered."""

from __future__ import annotations

import json

from faststream.kafka import KafkaBroker, TestKafkaBroker

from amnesty_contracts import DECISIONS
from amnesty_eventstore.consumption import Delivery
from amnesty_runtime.processing import subscribe_policy
from tests.support.domain_events import EventFactory
from tests.support.in_memory_consumer import in_memory_consumer

from .fake_store import FakePersonStore, eligibility

CASES = "cases"


def _history() -> tuple[bytes, bytes]:
    f = EventFactory()
    opened = f.case_opened("p1", "c1", "2024-11-10", absent_since="2024-11-01")
    returned = f.voluntary_return("p1", "2024-12-20", case="c1")
    return opened.model_dump_json().encode(), returned.model_dump_json().encode()


def _deliveries(*values: bytes, start: int = 0) -> list[Delivery]:
    return [Delivery(CASES, 0, start + i, b"p1", v) for i, v in enumerate(values)]


async def test_a_first_offence_returned_in_window_1_is_granted_once_even_when_resent() -> None:
    store = FakePersonStore()
    policy = eligibility(store)
    opened, returned = _history()
    batch = _deliveries(opened, returned)
    report = await policy.prepare(batch)(None, batch)  # type: ignore[arg-type]  # the fake needs no conn
    assert list(report.types) == ["CaseOpened", "VoluntaryReturn"]
    (decision,) = store.published(DECISIONS)
    assert (decision.type, decision.document["data"]["regime"]) == ("AmnestyGranted", "window-1")
    # The return again at a later offset (a relay's resend): recorded before, so decided before.
    again = _deliveries(returned, start=2)
    await policy.prepare(again)(None, again)  # type: ignore[arg-type]
    assert len(store.published(DECISIONS)) == 1
    assert len(store.streams["person-p1"]) == 3  # two facts and the grant


async def test_an_unreadable_message_is_dead_lettered_and_decides_nothing() -> None:
    store = FakePersonStore()
    batch = _deliveries(b"{not json")
    report = await eligibility(store).prepare(batch)(None, batch)  # type: ignore[arg-type]
    assert (list(report.types), list(report.rejected)) == (["invalid"], ["invalid-json"])
    assert [json.loads(d.value)["reason"] for d in store.dead_letters] == ["invalid-json"]
    assert store.streams == {}


async def test_case_events_through_the_kafka_door_are_decided() -> None:
    store = FakePersonStore()
    policy = eligibility(store)
    broker = KafkaBroker("localhost:9092")
    consumer = in_memory_consumer("eligibility")
    pipeline = subscribe_policy(broker, consumer, policy, CASES, max_records=10)
    opened, returned = _history()
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish_batch(opened, returned, topic=CASES)
        await pipeline.settle()
    assert [d.type for d in store.published(DECISIONS)] == ["AmnestyGranted"]


async def test_a_fact_is_kept_as_the_bytes_it_arrived_in() -> None:
    store = FakePersonStore()
    opened, _ = _history()
    batch = _deliveries(opened)
    await eligibility(store).prepare(batch)(None, batch)  # type: ignore[arg-type]
    (fact,) = store.streams["person-p1"]
    assert fact.data == opened


async def test_a_fact_sent_without_its_event_id_is_kept_with_the_id_it_was_recorded_under() -> None:
    store = FakePersonStore()
    opened, _ = _history()
    without_id = json.loads(opened)
    del without_id["event_id"]  # the model makes one up: the bytes alone would replay under another
    batch = _deliveries(json.dumps(without_id).encode())
    await eligibility(store).prepare(batch)(None, batch)  # type: ignore[arg-type]
    (fact,) = store.streams["person-p1"]
    assert fact.document["event_id"] == str(fact.event_id)
