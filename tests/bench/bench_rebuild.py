"""Benchmark: `amnesty rebuild statistics` (in-memory fold, bulk write) beside its raw Kafka read ceiling.

Run with ``make bench`` (or ``python -m tests.bench.bench_rebuild [--persons N]``); prints a table and
writes it to bench-results/rebuild.md. Not a test: it asserts nothing, it measures. The history is the
tests' varied one (late cases, reclassifications, denials, revoked grants), published as the relays do.
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path

import uvloop
from aiokafka import AIOKafkaConsumer

from amnesty_eventstore import EVENTSTORE_MIGRATIONS, create_pool, migrate
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.provenance import verifier_of
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Stack
from amnesty_statistics.adapters.read_model import MIGRATIONS
from amnesty_statistics.entrypoints.projection import producers_of, rebuild
from tests.support.event_stream import expected_figures, history
from tests.support.kafka import create_topics, delete_topics
from tests.support.statistics import statistics_under_test


async def raw_read(bootstrap: KafkaClientOptions, topics: list[str], total: int) -> float:
    """Seconds for one aiokafka consumer to read every message of ``topics`` from the beginning."""
    consumer = AIOKafkaConsumer(
        *topics,
        **bootstrap.aiokafka(),
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        started, read = time.perf_counter(), 0
        deadline = started + 600
        while read < total and time.perf_counter() < deadline:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            read += sum(len(records) for records in batches.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def main(persons: int) -> str:
    stack = Stack(InfraSettings())
    await stack.up()
    endpoints = stack.endpoints
    pool = await create_pool(endpoints.admin_database_url, min_size=2, max_size=6)
    tag = uuid.uuid4().hex[:8]
    cases, decisions = f"bench.{tag}.cases", f"bench.{tag}.decisions"
    await create_topics(endpoints.kafka_admin, [cases, decisions], partitions=6)
    try:
        # The service's schema, group and settings, never started: the rebuild runs in this process.
        logs = Path("bench-results") / "rebuild.log"  # never written: the service is not launched
        async with statistics_under_test(
            endpoints, pool, logs, cases_topic=cases, decisions_topic=decisions
        ) as stats:
            await migrate(pool, stats.schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
            events = history(2024, persons)
            await stats.publish(events)
            raw_s = await raw_read(endpoints.kafka_admin, [cases, decisions], len(events))
            started = time.perf_counter()
            settings = stats.settings()
            # As `amnesty rebuild statistics` runs it: every event's signature checked.
            verifier = verifier_of("statistics", settings, producers_of(settings))
            report = await rebuild(pool, endpoints.kafka_admin, settings, verifier=verifier)
            rebuild_s = time.perf_counter() - started
            exact = await stats.daily_stats() == expected_figures(events)
    finally:
        await delete_topics(endpoints.kafka_admin, [cases, decisions])
        await pool.close()
    n = len(events)
    rows = [
        ("raw aiokafka read of both topics (ceiling)", n / raw_s, "—"),
        ("`amnesty rebuild statistics`, end to end", n / rebuild_s, "≥ 25,000"),
        ("ratio rebuild / raw read", rebuild_s and raw_s / rebuild_s, "—"),
    ]
    lines = [
        f"Rebuild of {n:,} messages ({persons:,} persons, 6 partitions per topic); the rebuilt daily table "
        f"{'equals' if exact else 'DIFFERS FROM'} the pure projection of the events. Version "
        f"{report.version}, {rebuild_s:.1f} s.",
        "",
        "| measurement | messages/s | target |",
        "| --- | ---: | ---: |",
        *(
            f"| {name} | {value:,.2f} | {target} |" if value < 10 else f"| {name} | {value:,.0f} | {target} |"
            for name, value, target in rows
        ),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--persons", type=int, default=60_000, help="people in the history (~4 messages each)"
    )
    table = uvloop.run(main(parser.parse_args().persons))  # the loop `amnesty rebuild` runs on
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "rebuild.md").write_text(table)
    print(table)
