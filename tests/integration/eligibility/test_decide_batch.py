"""decide_eligibility in the consumer's transaction, on the real PostgreSQL: facts and decisions in the
person's stream, decisions and rejections in the outbox, resends and conflicts handled without a stop.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from itertools import count

import pytest
from prometheus_client import REGISTRY

from amnesty_contracts import (
    AmnestyGrantedEvent,
    CaseEvent,
    RejectedMessage,
    new_event_id,
    parse_decision_event,
)
from amnesty_eligibility.adapters.person_streams import PostgresPersonStore
from amnesty_eligibility.entrypoints.cases_consumer import cases_consumer
from amnesty_eligibility.service_layer.handlers import Eligibility
from amnesty_eventstore import Pool, read_stream
from amnesty_eventstore.consumption import CheckpointedConsumer, Delivery
from tests.unit.eligibility.examples import RULES, opened, returned

pytestmark = pytest.mark.integration

CASES_TOPIC = "cases-under-test"


class Feed:
    """Deliveries of one partition of a cases topic, at increasing offsets."""

    def __init__(self) -> None:
        self._offsets = count()

    def delivery(self, event: CaseEvent | bytes, *, header: bool = True, key: bytes = b"k") -> Delivery:
        value = event if isinstance(event, bytes) else event.model_dump_json().encode()
        headers = (
            (("event-id", str(event.event_id).encode()),) if header and not isinstance(event, bytes) else ()
        )
        return Delivery(CASES_TOPIC, 0, next(self._offsets), key, value, headers=headers)


async def _consumer(pool: Pool, schema: str) -> CheckpointedConsumer:
    eligibility = Eligibility(
        schema=schema,
        rules=RULES,
        store=lambda conn: PostgresPersonStore(conn, schema, "rejected", new_event_id),
        decisions_topic="decisions",
    )
    return cases_consumer(pool, "eligibility", eligibility)


async def _outbox(pool: Pool, schema: str) -> list[tuple[str, bytes, bytes]]:
    rows = await pool.fetch(f'SELECT topic, key, value FROM "{schema}".outbox ORDER BY id')
    return [(r["topic"], r["key"], r["value"]) for r in rows]


def _types(outbox: Sequence[tuple[str, bytes, bytes]]) -> list[tuple[str, str]]:
    return [(key.decode(), json.loads(value)["type"]) for topic, key, value in outbox if topic == "decisions"]


async def test_decisions_go_to_the_persons_stream_and_the_outbox(admin_pool: Pool, fresh_schema: str) -> None:
    consumer, feed = await _consumer(admin_pool, fresh_schema), Feed()
    ret, case = returned("2025-06-01", person="p1"), opened(absent_since="2025-03-01", person="p1")
    detention = returned("2025-06-02", person="p2")

    await consumer.apply([feed.delivery(ret), feed.delivery(detention)])
    await consumer.apply([feed.delivery(case)])

    outbox = await _outbox(admin_pool, fresh_schema)
    assert _types(outbox) == [
        ("p1", "EligibilityPending"),
        ("p2", "EligibilityPending"),
        ("p1", "AmnestyGranted"),
    ]
    granted = parse_decision_event(outbox[2][2])
    assert isinstance(granted, AmnestyGrantedEvent)
    assert granted.submission == ret.submission
    async with admin_pool.acquire() as conn:
        stream = await read_stream(conn, fresh_schema, "person-p1")
    assert [e.type for e in stream] == [
        "VoluntaryReturn",
        "EligibilityPending",
        "CaseOpened",
        "AmnestyGranted",
    ]
    assert stream[0].event_id == ret.event_id, "a case event is kept under its own id"
    assert stream[3].data["causation_id"] == str(case.event_id)
    assert stream[3].data["data"]["reinstate_by"] == "2025-06-04T00:00:00+03:00"


async def test_a_resend_decides_nothing_again(admin_pool: Pool, fresh_schema: str) -> None:
    consumer, feed = await _consumer(admin_pool, fresh_schema), Feed()
    events: list[CaseEvent] = [
        opened(absent_since="2025-03-01", person="p1"),
        returned("2025-06-01", person="p1"),
    ]
    await consumer.apply([feed.delivery(e) for e in events])
    # Again at new offsets, as a relay killed before its delete sends them, with and without the header:
    # the person's stream holds them already, so they change nothing.
    again = await consumer.apply([feed.delivery(e) for e in events])
    without_header = await consumer.apply([feed.delivery(e, header=False) for e in events])
    assert (again.applied, without_header.applied) == (2, 2)
    async with admin_pool.acquire() as conn:
        stream = await read_stream(conn, fresh_schema, "person-p1")
    assert [e.type for e in stream] == ["CaseOpened", "VoluntaryReturn", "AmnestyGranted"]
    assert _types(await _outbox(admin_pool, fresh_schema)) == [("p1", "AmnestyGranted")]


async def test_a_poison_message_is_rejected_and_the_batch_goes_on(
    admin_pool: Pool, fresh_schema: str
) -> None:
    consumer, feed = await _consumer(admin_pool, fresh_schema), Feed()
    poison = b'{"type": "CaseOpened", "event_id": "not a uuid"}'
    before = REGISTRY.get_sample_value(
        "amnesty_messages_rejected_total", {"service": "eligibility", "reason": "invalid-field"}
    )
    outcome = await consumer.apply(
        [
            feed.delivery(poison),
            feed.delivery(opened(person="p1")),
            feed.delivery(returned("2025-06-01", person="p1")),
        ]
    )
    assert outcome.applied == 3
    outbox = await _outbox(admin_pool, fresh_schema)
    assert _types(outbox) == [("p1", "AmnestyGranted")]
    ((_, key, value),) = [row for row in outbox if row[0] == "rejected"]
    rejected = RejectedMessage.model_validate_json(value)
    assert (key, rejected.reason.value, rejected.service) == (b"k", "invalid-field", "eligibility")
    assert base64.b64decode(rejected.original) == poison
    assert (rejected.topic, rejected.partition, rejected.offset) == (CASES_TOPIC, 0, 0)
    after = REGISTRY.get_sample_value(
        "amnesty_messages_rejected_total", {"service": "eligibility", "reason": "invalid-field"}
    )
    assert (after or 0) - (before or 0) == 1
    consumed = REGISTRY.get_sample_value(
        "amnesty_messages_consumed_total", {"service": "eligibility", "topic": CASES_TOPIC, "type": "invalid"}
    )
    assert consumed is not None
    assert consumed >= 1


async def test_an_event_id_reused_for_another_person_is_rejected(admin_pool: Pool, fresh_schema: str) -> None:
    consumer, feed = await _consumer(admin_pool, fresh_schema), Feed()
    first = opened(absent_since="2025-03-01", person="p1")
    clash = opened(absent_since="2025-03-01", person="p2", event_id=first.event_id)
    await consumer.apply([feed.delivery(first)])
    # under another message identity, so that the consumer's deduplication lets it through
    other_identity = (("event-id", str(uuid.uuid4()).encode()),)
    await consumer.apply(
        [Delivery(CASES_TOPIC, 0, 50, b"k", clash.model_dump_json().encode(), headers=other_identity)]
    )
    outbox = await _outbox(admin_pool, fresh_schema)
    ((_, _, value),) = [row for row in outbox if row[0] == "rejected"]
    assert RejectedMessage.model_validate_json(value).reason.value == "conflicting-duplicate"
    async with admin_pool.acquire() as conn:
        assert await read_stream(conn, fresh_schema, "person-p2") == []
