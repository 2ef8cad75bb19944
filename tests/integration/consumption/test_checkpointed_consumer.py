"""A batch is applied once: what lies below the stored checkpoint is skipped, in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from amnesty_eventstore import DbConnection, Pool
from amnesty_eventstore.consumption import AfterCommit, BatchOutcome, CheckpointedConsumer, Delivery

pytestmark = pytest.mark.integration


def _deliveries(n: int, *, partition: int = 0, start: int = 0, key_prefix: str = "e") -> list[Delivery]:
    return [
        Delivery(
            "cases", partition, start + i, None, b"{}", headers=(("event-id", f"{key_prefix}{i}".encode()),)
        )
        for i in range(n)
    ]


def _event_id(d: Delivery) -> str:
    return dict(d.headers)["event-id"].decode()


async def _consumer(pool: Pool, schema: str, *, fail_after: int | None = None) -> CheckpointedConsumer:
    await pool.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".applied (event_id text, "offset" bigint)')
    calls = 0

    async def handle(conn: DbConnection, deliveries: Sequence[Delivery]) -> None:
        nonlocal calls
        calls += 1
        await conn.executemany(
            f'INSERT INTO "{schema}".applied VALUES ($1, $2)', [(_event_id(d), d.offset) for d in deliveries]
        )
        if fail_after is not None and calls > fail_after:
            raise RuntimeError("the service crashed half-way through its batch")

    return CheckpointedConsumer(pool, schema, "g", handle)


async def _applied(pool: Pool, schema: str) -> list[str]:
    return [r[0] for r in await pool.fetch(f'SELECT event_id FROM "{schema}".applied ORDER BY "offset"')]


async def test_a_batch_delivered_twice_is_applied_once(admin_pool: Pool, fresh_schema: str) -> None:
    consumer = await _consumer(admin_pool, fresh_schema)
    batch = _deliveries(10)
    assert await consumer.apply(batch) == BatchOutcome(applied=10, replayed=0)
    assert await consumer.apply(batch) == BatchOutcome(applied=0, replayed=10)
    assert await _applied(admin_pool, fresh_schema) == [f"e{i}" for i in range(10)]
    assert await consumer.stored_checkpoints([("cases", 0), ("cases", 1)]) == {("cases", 0): 10}


async def test_a_failing_handler_leaves_no_trace(admin_pool: Pool, fresh_schema: str) -> None:
    consumer = await _consumer(admin_pool, fresh_schema, fail_after=1)
    await consumer.apply(_deliveries(3))
    with pytest.raises(RuntimeError, match="half-way"):
        await consumer.apply(_deliveries(3, start=3, key_prefix="f"))
    assert await _applied(admin_pool, fresh_schema) == ["e0", "e1", "e2"]
    assert await consumer.stored_checkpoints([("cases", 0)]) == {("cases", 0): 3}
    healthy = await _consumer(admin_pool, fresh_schema)
    assert (await healthy.apply(_deliveries(3, start=3, key_prefix="f"))).applied == 3


async def test_two_consumers_racing_for_one_partition_apply_it_once(
    admin_pool: Pool, fresh_schema: str
) -> None:
    # A rebalance can leave the old owner of a partition still processing while the new one starts.
    first, second = await _consumer(admin_pool, fresh_schema), await _consumer(admin_pool, fresh_schema)
    batch = _deliveries(50)
    outcomes = await asyncio.gather(first.apply(batch), second.apply(batch))
    assert sorted(o.applied for o in outcomes) == [0, 50]
    assert len(await _applied(admin_pool, fresh_schema)) == 50


async def test_what_a_handler_does_after_the_commit_happens_only_once_it_committed(
    admin_pool: Pool, fresh_schema: str
) -> None:
    await admin_pool.execute(f'CREATE TABLE "{fresh_schema}".applied (event_id text, "offset" bigint)')
    seen: list[int] = []

    async def handle(conn: DbConnection, deliveries: Sequence[Delivery]) -> AfterCommit:
        await conn.execute(f'INSERT INTO "{fresh_schema}".applied VALUES ($1, 0)', "e")

        def after() -> None:
            seen.append(len(deliveries))

        return after

    consumer = CheckpointedConsumer(admin_pool, fresh_schema, "g", handle)
    await consumer.apply(_deliveries(3))
    assert seen == [3]

    async def fails(conn: DbConnection, deliveries: Sequence[Delivery]) -> AfterCommit:
        await handle(conn, deliveries)
        raise RuntimeError("the checkpoint never moves")

    with pytest.raises(RuntimeError):
        await CheckpointedConsumer(admin_pool, fresh_schema, "g", fails).apply(_deliveries(2, start=3))
    assert seen == [3], "a batch that rolled back runs nothing after"
