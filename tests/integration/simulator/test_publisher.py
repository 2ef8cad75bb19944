"""The simulator's publisher on the real broker: every message, at its key's default partition, in order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from amnesty_eventstore.partitioning import partition_of
from amnesty_runtime.stack import Endpoints
from amnesty_simulator.publisher import CHUNK, publish
from amnesty_simulator.submissions import Outgoing
from tests.support.kafka import read_all

START = datetime(2024, 3, 1, tzinfo=UTC)


async def test_each_message_goes_to_its_keys_partition_in_the_order_sent(
    endpoints: Endpoints, fresh_topic: str
) -> None:
    # More than a chunk, keys repeating: a key's messages must arrive in the order they were sent.
    messages = [
        Outgoing(START + timedelta(hours=n), f"record-{n % 97}".encode(), f'{{"n":{n}}}'.encode())
        for n in range(CHUNK + 700)
    ]
    acknowledged: list[tuple[int, date]] = []

    await publish(
        messages,
        kafka=endpoints.kafka_admin,
        topic=fresh_topic,
        speed=None,
        sent=lambda count, day: acknowledged.append((count, day)),
    )

    records = await read_all(endpoints.kafka_admin, fresh_topic)
    assert sorted(r.value for r in records) == sorted(m.value for m in messages)
    partitions = [0, 1, 2]  # fresh_topic's
    assert all(r.partition == partition_of(r.key, partitions) for r in records)
    for key in {m.key for m in messages}:
        arrived = [r.value for r in sorted(records, key=lambda r: r.offset) if r.key == key]
        assert arrived == [m.value for m in messages if m.key == key]
    assert acknowledged == [(CHUNK, messages[CHUNK - 1].at.date()), (700, messages[-1].at.date())]
