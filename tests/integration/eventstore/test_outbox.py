"""Outbox messages are written in the transaction of their events: both or neither."""

from __future__ import annotations

import json
import uuid

import pytest

from amnesty_eventstore import EventStore, NewEvent, Pool, append_in

pytestmark = pytest.mark.integration

TOPIC = "amnesty.cases.v1"


def routed(n: int, key: str | bytes | None = "person-1", headers: dict[str, str] | None = None) -> NewEvent:
    return NewEvent(
        uuid.uuid4(), "CaseOpened", {"n": n, "person": "person-1"}, topic=TOPIC, key=key, headers=headers
    )


async def counts(pool: Pool, schema: str) -> tuple[int, int]:
    row = await pool.fetchrow(
        f'SELECT (SELECT count(*) FROM "{schema}".events), (SELECT count(*) FROM "{schema}".outbox)'
    )
    assert row is not None
    return row[0], row[1]


async def test_a_rolled_back_transaction_leaves_neither_events_nor_outbox_messages(
    pool: Pool, schema: str
) -> None:
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await append_in(conn, schema, "person-1", [routed(1), routed(2)])
        assert await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox') == 2
        await tx.rollback()
    assert await counts(pool, schema) == (0, 0)


async def test_a_committed_append_leaves_both(pool: Pool, schema: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await append_in(conn, schema, "person-1", [routed(1), routed(2)])
    assert await counts(pool, schema) == (2, 2)


async def test_an_outbox_message_carries_the_payload_bytes_key_and_headers(store: EventStore) -> None:
    events = [
        routed(1, key="person-1", headers={"content-type": "application/json"}),
        routed(2, key=b"\x00raw"),
        routed(3, key=None),
        NewEvent(uuid.uuid4(), "Internal", {"n": 4}),  # no topic: stays in the store
    ]
    await store.append("person-1", events)
    rows = await store.pool.fetch(
        f"SELECT o.event_id, o.topic, o.key, o.value, o.headers::text, o.created_at, e.recorded_at "
        f'FROM "{store.schema}".outbox o JOIN "{store.schema}".events e USING (event_id) ORDER BY o.id'
    )
    assert [r["event_id"] for r in rows] == [e.event_id for e in events[:3]]
    assert {r["topic"] for r in rows} == {TOPIC}
    assert [r["key"] for r in rows] == [b"person-1", b"\x00raw", None]
    assert [json.loads(r["value"]) for r in rows] == [e.data for e in events[:3]]
    assert [json.loads(r["headers"]) for r in rows] == [{"content-type": "application/json"}, {}, {}]
    assert all(r["created_at"] == r["recorded_at"] for r in rows)  # one transaction


async def test_outbox_order_follows_each_streams_version_order(store: EventStore) -> None:
    for version in range(5):
        await store.append("person-1", [routed(version)], version)
        await store.append("person-2", [routed(version, key="person-2")], version)
    rows = await store.pool.fetch(f'SELECT key, value FROM "{store.schema}".outbox ORDER BY id')
    by_key: dict[bytes, list[int]] = {}
    for row in rows:
        by_key.setdefault(row["key"], []).append(json.loads(row["value"])["n"])
    assert by_key == {b"person-1": [0, 1, 2, 3, 4], b"person-2": [0, 1, 2, 3, 4]}


async def test_a_retried_append_writes_no_second_outbox_message(store: EventStore) -> None:
    events = [routed(1)]
    await store.append("person-1", events)
    await store.append("person-1", events)
    assert await counts(store.pool, store.schema) == (1, 1)
