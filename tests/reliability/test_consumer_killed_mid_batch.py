"""A consumer process killed (SIGKILL) in the middle of its batches, restarted: state equals a clean run."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections import Counter

import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.kafka import kafka_test_broker

pytestmark = pytest.mark.integration

MESSAGES, KEYS = 600, 12


async def _worker(endpoints: Endpoints, schema: str, topic: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.reliability.consumer_worker",
        # The admin's client options as JSON: the worker connects as the fixtures do.
        endpoints.kafka_admin.to_json(),
        endpoints.admin_database_url,
        schema,
        topic,
        "worker",
        str(MESSAGES),
    )


async def test_a_killed_consumer_restarts_without_losing_or_double_applying(
    endpoints: Endpoints, admin_pool: Pool, fresh_schema: str, fresh_topic: str
) -> None:
    await admin_pool.execute(f'CREATE TABLE "{fresh_schema}".applied (event_id text)')
    await admin_pool.execute(f'CREATE TABLE "{fresh_schema}".totals (key text PRIMARY KEY, n int)')
    sent = [(f"k{i % KEYS}", str(uuid.uuid4())) for i in range(MESSAGES)]
    async with kafka_test_broker(endpoints.kafka_admin) as producer:
        await asyncio.gather(*(producer.publish(v.encode(), fresh_topic, key=k.encode()) for k, v in sent))

    kills = 0
    worker = await _worker(endpoints, fresh_schema, fresh_topic)
    for threshold in (MESSAGES // 5, MESSAGES // 2):
        while await admin_pool.fetchval(f'SELECT count(*) FROM "{fresh_schema}".applied') < threshold:
            await asyncio.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        kills += 1
        worker = await _worker(endpoints, fresh_schema, fresh_topic)
    assert await asyncio.wait_for(worker.wait(), 120) == 0

    applied = [r[0] for r in await admin_pool.fetch(f'SELECT event_id FROM "{fresh_schema}".applied')]
    totals = {r["key"]: r["n"] for r in await admin_pool.fetch(f'SELECT key, n FROM "{fresh_schema}".totals')}
    assert kills == 2
    assert sorted(applied) == sorted(v for _, v in sent), "every message applied exactly once"
    assert totals == dict(Counter(k for k, _ in sent))
