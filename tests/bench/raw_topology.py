"""The pipeline's Kafka hops with nothing else in them: the raw ceiling of the end-to-end throughput.

``bench_e2e``'s first ceiling (one producer, one consumer) moves each submission through Kafka once; the
pipeline moves it three times. This runs the pipeline's topology on fresh topics of the same broker,
each service replaced by a process that forwards bytes, so that its rate is what the services' own work
(validation, pseudonyms, decisions, the read model, PostgreSQL) is measured against:

- ``intake``: every record of the upstream topic → the cases topic, its bytes and key unchanged;
- ``eligibility``: each return on the cases topic → one record on the decisions topic (the services
  publish at least as many);
- ``statistics``: reads the cases and decisions topics until it has seen them all.

Each forwarder is one process with an idempotent acks=all producer that publishes as the outbox relays
do (``publish_in_batches``: record batches filled per partition) and a consumer group that commits after
each batch of up to 500 records, the services' batch size. Its values are the upstream submissions,
smaller than the services' events: if anything, the ceiling is set high.

Run as ``python -m tests.bench.raw_topology ROLE …`` by `bench_topology`, the client options on stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

from amnesty_eventstore.record_batches import publish_in_batches
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_simulator.publisher import publish
from amnesty_simulator.submissions import Outgoing
from tests.bench.raw_durable import create_schemas, drop_schemas, published, record_batch, schema_of
from tests.support.kafka import create_topics, delete_topics

BATCH_RECORDS = 500  # the services' batch_max_records
RETURN = b'"VoluntaryReturn"'
ROLES = ("intake", "eligibility", "statistics")


@dataclass(frozen=True)
class Forwarded:
    """A record to publish, in the shape ``publish_in_batches`` takes."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class Database:
    """Where a durable forwarder records its batches: the server, and the run's tag naming the schemas."""

    url: str
    tag: str


class Received(Protocol):
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


def onward(role: str, records: Sequence[Received], sink: str | None) -> list[Forwarded]:
    """What ``role`` publishes for a batch: intake every record, eligibility one per return."""
    if sink is None:
        return []
    return [
        Forwarded(sink, r.key, r.value)
        for r in records
        if r.value is not None and (role == "intake" or RETURN in r.value)
    ]


class _Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Says "ready" (with the CPU used to get there) once the group has given this process partitions."""

    def __init__(self) -> None:
        self.said = False

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned and not self.said:
            self.said = True
            _say(ready=time.time(), cpu_s=time.process_time())


def _say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def forward(
    role: str,
    kafka: KafkaClientOptions,
    sources: list[str],
    sink: str | None,
    expect: int,
    database: Database | None = None,
) -> None:
    """Forward batches until ``expect`` records have been read, then say "done". With ``database``, each
    batch is first recorded there in one transaction (``raw_durable``) and its outbox rows deleted once
    published."""
    consumer = AIOKafkaConsumer(
        group_id=f"raw-topology-{role}-{sources[0]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafka.aiokafka(),
    )
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **kafka.aiokafka())
    conn = (
        await asyncpg.connect(database.url, server_settings={"search_path": schema_of(database.tag, role)})
        if database is not None
        else None
    )
    await producer.start()
    try:
        await consumer.start()
        try:
            consumer.subscribe(sources, listener=_Assigned())
            seen = 0
            while seen < expect:
                fetched = await consumer.getmany(timeout_ms=100, max_records=BATCH_RECORDS)
                records = [r for partition in fetched.values() for r in partition]
                if not records:
                    continue
                seen += len(records)
                out = onward(role, records, sink)
                outbox = (
                    await record_batch(conn, role, records, [(f.key, f.value) for f in out], sink)
                    if conn is not None
                    else []
                )
                if out:
                    await publish_in_batches(producer, out)
                if conn is not None:
                    await published(conn, outbox)
                await consumer.commit()
            _say(done=time.time(), cpu_s=time.process_time(), seen=seen)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
        if conn is not None:
            await conn.close()


# --- the driver, run from bench_e2e ---------------------------------------------------------------------


class Measurable(Protocol):
    """A process outside the forwarders whose CPU seconds are read before and after (the broker)."""

    @property
    def name(self) -> str: ...
    def cpu_s(self) -> float: ...


@dataclass(frozen=True)
class Topology:
    submissions: int
    start_s: float  # launch → every forwarder has partitions
    run_s: float  # then → the last record read by statistics
    read: int  # records the statistics forwarder read: every case, and a decision per return
    forwarders_cpu_s: float  # after start-up
    others_cpu_s: dict[str, float]  # launch → done
    durable: bool  # each batch recorded in PostgreSQL first (raw_durable)

    @property
    def rate(self) -> float:
        return self.submissions / self.run_s


async def bench_topology(
    kafka: KafkaClientOptions,
    messages: list[Outgoing],
    others: Sequence[Measurable],
    timeout_s: float,
    database_url: str | None = None,
) -> Topology:
    """The messages published to a fresh upstream topic, then the three forwarders started and timed from
    the moment all three have partitions until statistics has read every case and decision. With
    ``database_url`` (an owner's), the forwarders are durable, each in fresh schemas dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    database = Database(database_url, tag) if database_url is not None else None
    if database is not None:
        conn = await asyncpg.connect(database.url)
        try:
            await create_schemas(conn, tag)
        finally:
            await conn.close()
    upstream, cases, decisions = (
        f"bench.topology.{tag}.{name}" for name in ("upstream", "cases", "decisions")
    )
    returns = sum(RETURN in m.value for m in messages)
    await create_topics(kafka, [upstream, cases, decisions])
    try:
        await publish(messages, kafka=kafka, topic=upstream, speed=None)
        # The passwords stay out of the process list: the options go on the forwarders' stdin.
        options = b"".join(
            json.dumps(dataclasses.asdict(o) if o is not None else None, default=str).encode() + b"\n"
            for o in (kafka, database)
        )
        arguments = {
            "intake": ["--source", upstream, "--sink", cases, "--expect", str(len(messages))],
            "eligibility": ["--source", cases, "--sink", decisions, "--expect", str(len(messages))],
            "statistics": [
                "--source",
                cases,
                "--source",
                decisions,
                "--expect",
                str(len(messages) + returns),
            ],
        }
        before = {m.name: m.cpu_s() for m in others}
        launched = time.time()
        said = await asyncio.wait_for(
            asyncio.gather(*(_run(role, arguments[role], options) for role in ROLES)), timeout_s
        )
        after = {m.name: m.cpu_s() - before[m.name] for m in others}
        ready = max(s["ready"]["ready"] for s in said)
        return Topology(
            submissions=len(messages),
            start_s=ready - launched,
            run_s=max(s["done"]["done"] for s in said) - ready,
            read=said[-1]["done"]["seen"],
            forwarders_cpu_s=sum(s["done"]["cpu_s"] - s["ready"]["cpu_s"] for s in said),
            others_cpu_s=after,
            durable=database is not None,
        )
    finally:
        await delete_topics(kafka, [upstream, cases, decisions])
        if database is not None:
            conn = await asyncpg.connect(database.url)
            try:
                await drop_schemas(conn, tag)
            finally:
                await conn.close()


async def _run(role: str, arguments: list[str], options: bytes) -> dict[str, dict[str, Any]]:
    """One forwarder to its end: what it said, by kind ("ready", "done")."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__, role, *arguments,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    said: dict[str, dict[str, Any]] = {}
    try:
        process.stdin.write(options)
        await process.stdin.drain()
        process.stdin.close()
        async for line in process.stdout:
            fields = json.loads(line)
            said["ready" if "ready" in fields else "done"] = fields
        if await process.wait() != 0 or said.keys() != {"ready", "done"}:
            raise RuntimeError(f"the {role} forwarder exited with {process.returncode}, having said {said}")
        return said
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.raw_topology", description=__doc__)
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--source", action="append", required=True, help="a topic to read (repeatable)")
    parser.add_argument("--sink", help="the topic to publish to (none: read only)")
    parser.add_argument("--expect", type=int, required=True, help="records to read before stopping")
    args = parser.parse_args()
    kafka = KafkaClientOptions(**json.loads(sys.stdin.readline()))
    database = json.loads(sys.stdin.readline())
    uvloop.run(
        forward(
            args.role,
            kafka,
            args.source,
            args.sink,
            args.expect,
            Database(**database) if database is not None else None,
        )
    )


if __name__ == "__main__":
    main()
