"""A submission travels through the real broker: published to amnesty.upstream.v1, consumed by FastStream."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from faststream.kafka import KafkaMessage

from amnesty_contracts import UPSTREAM, CaseOpened, Rejection, parse_submission
from amnesty_runtime.stack import Endpoints
from tests.support.kafka import kafka_test_broker

pytestmark = pytest.mark.integration


def _case_opened(submission_id: str) -> bytes:
    return json.dumps(
        {
            "type": "CaseOpened",
            "source": "erdr",
            "submission_id": submission_id,
            "person_id": "3012345678",
            "case_number": "12024100000001234",
            "article": "407",
            "absent_since": "2024-11-02",
            "registered_on": "2024-11-20",
            "region": "UA-48",
        }
    ).encode()


async def _consume_until(endpoints: Endpoints, wanted: set[str], *, batch: bool) -> dict[str, bytes]:
    """Consume the topic from the start in a fresh group until every wanted submission id was seen."""
    seen: dict[str, bytes] = {}
    done = asyncio.Event()
    broker = kafka_test_broker(endpoints.kafka_admin)

    def take(raw: bytes) -> None:
        submission_id = json.loads(raw).get("submission_id")
        if submission_id in wanted:
            seen[submission_id] = raw
        if wanted <= seen.keys():
            done.set()

    group = f"test-{uuid.uuid4()}"
    if batch:

        @broker.subscriber(
            UPSTREAM, group_id=group, auto_offset_reset="earliest", batch=True, max_records=500
        )
        async def on_batch(msg: KafkaMessage) -> None:
            for raw in msg.body if isinstance(msg.body, list) else [msg.body]:
                take(raw)
    else:

        @broker.subscriber(UPSTREAM, group_id=group, auto_offset_reset="earliest")
        async def on_message(msg: KafkaMessage) -> None:
            take(msg.body)

    async with broker:
        await broker.start()
        await asyncio.wait_for(done.wait(), 60)
    return seen


async def test_a_submission_published_upstream_is_consumed_through_faststream(endpoints: Endpoints) -> None:
    submission_id = f"it-{uuid.uuid4()}"
    async with kafka_test_broker(endpoints.kafka_admin) as producer:
        await producer.publish(_case_opened(submission_id), UPSTREAM, key=submission_id.encode())

    seen = await _consume_until(endpoints, {submission_id}, batch=False)

    parsed = parse_submission(seen[submission_id])
    assert not isinstance(parsed, Rejection), parsed
    assert isinstance(parsed, CaseOpened)
    assert (parsed.source, parsed.submission_id, parsed.article, parsed.region) == (
        "erdr",
        submission_id,
        "407",
        "UA-48",
    )


async def test_a_batch_subscriber_receives_every_message_of_a_burst(endpoints: Endpoints) -> None:
    ids = {f"burst-{uuid.uuid4()}" for _ in range(200)}
    async with kafka_test_broker(endpoints.kafka_admin) as producer:
        await asyncio.gather(*(producer.publish(_case_opened(i), UPSTREAM, key=i.encode()) for i in ids))

    seen = await _consume_until(endpoints, ids, batch=True)

    assert seen.keys() == ids
    assert all(isinstance(parse_submission(raw), CaseOpened) for raw in seen.values())
