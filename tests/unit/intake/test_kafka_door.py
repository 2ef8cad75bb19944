"""Intake's Kafka door in-process: FastStream's in-memory broker, the runtime's pipelined subscriber and
the intake policy over an in-memory store (no Kafka, no PostgreSQL)."""

from __future__ import annotations

import json

from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import REGISTRY

from amnesty_intake.domain.pseudonyms import Pseudonymizer
from amnesty_runtime.processing import subscribe_policy
from tests.support.in_memory_consumer import in_memory_consumer
from tests.support.intake import encoded, submission

from .fake_store import KEY, FakeIntakeStore, admission

TOPIC = "upstream"


def _consumed(type_: str) -> float:
    value = REGISTRY.get_sample_value(
        "amnesty_messages_consumed_total", {"service": "intake", "topic": TOPIC, "type": type_}
    )
    return value or 0.0


async def test_submissions_through_the_door_are_recorded_rejected_and_counted() -> None:
    store = FakeIntakeStore()
    broker = KafkaBroker("localhost:9092")
    consumer = in_memory_consumer("intake")
    pipeline = subscribe_policy(broker, consumer, admission(store), TOPIC, max_records=10)
    before_opened, before_invalid = _consumed("CaseOpened"), _consumed("invalid")
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(encoded(submission(submission_id="d-1")), TOPIC, key=b"k1")
        await test_broker.publish_batch(
            encoded(submission(submission_id="d-2", person_id="4012345679")), b"{oops", topic=TOPIC
        )
        await pipeline.settle()
    pseudonyms = Pseudonymizer(KEY)
    expected = [pseudonyms.submission_id("d-1"), pseudonyms.submission_id("d-2")]
    assert [e.document["submission"]["submission_id"] for e in store.events] == expected
    assert [json.loads(d.value)["reason"] for d in store.dead_letters] == ["invalid-json"]
    assert (_consumed("CaseOpened") - before_opened, _consumed("invalid") - before_invalid) == (2, 1)
