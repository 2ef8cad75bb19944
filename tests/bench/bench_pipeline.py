"""Benchmarks of the Kafka edges: the outbox relay, and intake alone (submissions/s), on the real stack.

Run with ``make bench`` (or ``python -m tests.bench.bench_pipeline``); prints a table and writes it to
bench-results/pipeline.md. Not a test: it asserts nothing, it measures.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

from amnesty_eventstore import AppendRequest, NewEvent, Pool, append_many_in, create_pool, migrate
from amnesty_eventstore.outbox_relay import OutboxRelay, create_producer
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Endpoints, Stack
from tests.support.intake import encoded, intake_under_test, submission
from tests.support.kafka import create_topics, delete_topics
from tests.support.waiting import eventually

RELAY_EVENTS = 100_000
INTAKE_SUBMISSIONS = 40_000


async def bench_relay(endpoints: Endpoints, pool: Pool) -> tuple[str, float, str]:
    schema, topic = f"bench_{uuid.uuid4().hex[:8]}", f"bench.{uuid.uuid4().hex[:8]}"
    await pool.execute(f'CREATE SCHEMA "{schema}"')
    await migrate(pool, schema)
    await create_topics(endpoints.kafka_admin, [topic], partitions=6)
    try:
        payload = {"type": "Probe", "data": {"returned_on": "2025-05-01", "region": "UA-48"}}
        for start in range(0, RELAY_EVENTS, 5000):
            requests = [
                AppendRequest(
                    f"person-{i % 5000}",
                    [NewEvent(uuid.uuid4(), "Probe", payload, topic=topic, key=f"p{i % 5000}")],
                )
                for i in range(start, start + 5000)
            ]
            async with pool.acquire() as conn:
                await append_many_in(conn, schema, requests)
        producer = create_producer(endpoints.kafka_admin.aiokafka(), "bench-relay")
        await producer.start()
        relay = OutboxRelay(pool, schema, producer, service="bench")
        started = time.perf_counter()
        while await relay.publish_pending():
            pass
        elapsed = time.perf_counter() - started
        await producer.stop()
        return (
            "outbox relay → Kafka (acks=all, idempotent)",
            RELAY_EVENTS / elapsed,
            f"{RELAY_EVENTS:,} events",
        )
    finally:
        await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await delete_topics(endpoints.kafka_admin, [topic])


async def bench_intake(endpoints: Endpoints, pool: Pool, logs: Path) -> list[tuple[str, float, str]]:
    async with intake_under_test(endpoints, pool, logs) as intake:
        intake.process.env["AMNESTY_INTAKE_BATCH_MAX_RECORDS"] = "1000"
        intake.process.env["AMNESTY_INTAKE_LOG_LEVEL"] = "INFO"
        values = [
            encoded(submission(submission_id=f"b-{i}", person_id=f"8{i:09d}"))
            for i in range(INTAKE_SUBMISSIONS)
        ]
        await intake.publish(values)
        started = time.perf_counter()
        await intake.process.start()
        ready = time.perf_counter()
        await intake.consumed_everything(timeout_s=600)
        consumed = time.perf_counter()
        outbox = f'SELECT count(*) FROM "{intake.schema}".outbox'
        await eventually(lambda: pool.fetchval(outbox), lambda n: n == 0, timeout_s=600)
        published = time.perf_counter()
        recorded = await pool.fetchval(f'SELECT count(*) FROM "{intake.schema}".submission_log')
        assert recorded == INTAKE_SUBMISSIONS, recorded
        n = f"{INTAKE_SUBMISSIONS:,} CaseOpened, batches of 1000"
        return [
            (
                "intake: upstream → recorded (validate, pseudonymize, dedupe, append)",
                INTAKE_SUBMISSIONS / (consumed - ready),
                n,
            ),
            ("intake: upstream → published on amnesty.cases.v1", INTAKE_SUBMISSIONS / (published - ready), n),
            ("intake: process start to ready (s)", ready - started, "not a rate"),
        ]


def table(rows: list[tuple[str, float, str]]) -> str:
    lines = ["| measurement | per second | run |", "| --- | ---: | --- |"]
    lines += [
        f"| {name} | {value:,.0f} | {note} |" if "(s)" not in name else f"| {name} | {value:.1f} | {note} |"
        for name, value, note in rows
    ]
    return "\n".join(lines) + "\n"


async def main() -> None:
    stack = Stack(InfraSettings())
    await stack.up()
    endpoints = stack.endpoints
    pool = await create_pool(endpoints.admin_database_url, min_size=2, max_size=8)
    try:
        rows = [await bench_relay(endpoints, pool)]
        rows += await bench_intake(endpoints, pool, Path("bench-results") / "intake.log")
    finally:
        await pool.close()
    report = table(rows)
    print(report)
    print(json.dumps({"written": write_report(report)}))


def write_report(report: str) -> str:
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "pipeline.md").write_text(report)
    return str(out / "pipeline.md")


if __name__ == "__main__":
    asyncio.run(main())
