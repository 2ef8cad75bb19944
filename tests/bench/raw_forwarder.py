"""One process of the raw topology (``raw_topology``): a stand-in for a service that only moves the
pipeline's messages on, and, given a database, first records each batch there (``raw_durable``).

- ``intake``: every record of the upstream topic → the cases topic, its bytes and key unchanged;
- ``eligibility``: each return on the cases topic → one record on the decisions topic (the services
  publish at least as many);
- ``statistics``: reads the cases and decisions topics until it has seen them all.

It consumes as the services do (a group, batches of up to ``--batch-records``, Kafka's offsets committed
in the background: the services' ``AckPolicy.ACK_FIRST``) and publishes as their outbox relays do (the
relay's producer, ``publish_in_batches``). Unlike a service it does one thing at a time: fetch, record,
publish, fetch; a service prepares its next batch while one commits, and its relay is a task of its own.

Run by the driver as ``python -m tests.bench.raw_forwarder ROLE …``. Its stdin carries two JSON lines,
the Kafka client options and the database (or null), so that no password shows in the process list; then
``go``, once all three forwarders have their partitions (each holds them paused until then). The end of
stdin, when the driver has gone, stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import uvloop
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

from amnesty_eventstore.outbox_relay import create_producer
from amnesty_eventstore.record_batches import publish_in_batches
from amnesty_runtime.kafka_client import KafkaClientOptions
from tests.bench.raw_durable import ROLES, Role, record_batch, relay_outbox, schema_of
from tests.support.kafka import OutgoingRecord

RETURN = b'"VoluntaryReturn"'


@dataclass(frozen=True)
class Database:
    """Where a durable forwarder records its batches: the server, and the run's tag naming its schemas."""

    url: str
    tag: str


class Received(Protocol):
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


def onward(role: Role, records: Sequence[Received], sink: str | None) -> list[OutgoingRecord]:
    """What ``role`` publishes for a batch: intake every record, eligibility one per return."""
    if sink is None:
        return []
    return [
        OutgoingRecord(sink, r.key, r.value)
        for r in records
        if r.value is not None and (role == "intake" or RETURN in r.value)
    ]


class _HeldUntilGo(ConsumerRebalanceListener):  # type: ignore[misc]
    """Pauses the partitions first assigned and says "ready" with the CPU used so far (start-up)."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.assigned = asyncio.Event()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned and not self.assigned.is_set():
            self.consumer.pause(*assigned)
            self.assigned.set()
            _say(ready=time.time(), cpu_s=time.process_time())


def _say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def forward(
    role: Role,
    stdin: asyncio.StreamReader,
    sources: list[str],
    sink: str | None,
    expect: int,
    batch_records: int,
) -> None:
    """Forward batches until ``expect`` records have been read, then say "done"."""
    this = asyncio.current_task()
    assert this is not None
    orphaned: asyncio.Task[bytes] | None = None
    kafka = KafkaClientOptions(**json.loads(await stdin.readline()))
    database = json.loads(await stdin.readline())
    database = Database(**database) if database is not None else None
    consumer = AIOKafkaConsumer(
        group_id=f"raw-topology-{role}-{sources[0]}",
        enable_auto_commit=True,  # as the services' ACK_FIRST: the stored checkpoints are the record
        auto_offset_reset="earliest",
        **kafka.aiokafka(),
    )
    producer = create_producer(kafka.aiokafka(), client_id=f"raw-topology-{role}")
    versions = itertools.count(1)  # unique in this process, so unique in each stream
    conn: asyncpg.Connection | None = None
    await producer.start()
    try:
        if database is not None:
            conn = await asyncpg.connect(
                database.url, server_settings={"search_path": schema_of(database.tag, role)}
            )
        await consumer.start()
        try:
            held = _HeldUntilGo(consumer)
            consumer.subscribe(sources, listener=held)
            await held.assigned.wait()
            if (await stdin.readline()).strip() != b"go":
                return  # the driver gave up, or is gone
            # Nothing more comes on stdin: its end means the driver is gone, and so is the run.
            orphaned = asyncio.create_task(stdin.read())
            orphaned.add_done_callback(lambda read: None if read.cancelled() else this.cancel())
            consumer.resume(*consumer.assignment())
            seen = 0
            while seen < expect:
                fetched = await consumer.getmany(timeout_ms=100, max_records=batch_records)
                records = [r for partition in fetched.values() for r in partition]
                if not records:
                    continue
                seen += len(records)
                out = onward(role, records, sink)
                if conn is None:
                    if out:
                        await publish_in_batches(producer, out)
                    continue
                await record_batch(conn, role, records, out, versions)
                if sink is not None:
                    await relay_outbox(conn, producer)
            _say(done=time.time(), cpu_s=time.process_time(), seen=seen)
        finally:
            if orphaned is not None:
                orphaned.cancel()
            await consumer.stop()
    finally:
        await producer.stop()
        if conn is not None:
            await conn.close()


async def _main(args: argparse.Namespace) -> None:
    stdin = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    await forward(args.role, stdin, args.source, args.sink, args.expect, args.batch_records)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.raw_forwarder", description=__doc__)
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--source", action="append", required=True, help="a topic to read (repeatable)")
    parser.add_argument("--sink", help="the topic to publish to (none: read only)")
    parser.add_argument("--expect", type=int, required=True, help="records to read before stopping")
    parser.add_argument("--batch-records", type=int, required=True, help="records per batch, at most")
    uvloop.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
