"""The pipeline's Kafka hops with nothing else in them: the raw ceilings of the end-to-end throughput.

``bench_e2e``'s first ceiling (one producer, one consumer) moves each submission through Kafka once; the
pipeline moves it three times. This runs the pipeline's topology on fresh topics of the same broker,
each service replaced by a process that only forwards the messages (``raw_forwarder``), so that (1) is
read against what moving them costs; and again durable (``raw_durable``), each batch first recorded in
PostgreSQL as the services record theirs, so that what is left between that and (1) is the services' own
work. The forwarders' values are the upstream submissions, smaller than the services' events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_simulator.publisher import publish
from amnesty_simulator.submissions import Outgoing
from tests.bench.raw_durable import ROLES, Role, count_rows, create_schemas, drop_schemas
from tests.bench.raw_forwarder import RETURN, Database
from tests.support.kafka import create_topics, delete_topics

ROOT = Path(__file__).resolve().parents[2]  # where ``-m tests.bench.raw_forwarder`` resolves


class Measurable(Protocol):
    """A process outside the forwarders whose CPU seconds are read before and after (the broker)."""

    @property
    def name(self) -> str: ...
    def cpu_s(self) -> float: ...


@dataclass(frozen=True)
class Topology:
    tag: str  # names the run's topics and schemas
    submissions: int
    start_s: float  # launch → all three forwarders hold their partitions
    run_s: float  # "go" → the last record read by statistics
    read: int  # records the statistics forwarder read: all on the cases topic, and the decisions
    forwarders_cpu_s: float  # from "go" to each one's end
    others_cpu_s: dict[str, float]  # from "go" to the last one's end
    recorded: dict[str, int] | None  # durable: rows left in each forwarder's tables (``role.table``)

    @property
    def rate(self) -> float:
        return self.submissions / self.run_s


async def bench_topology(
    kafka: KafkaClientOptions,
    messages: list[Outgoing],
    others: Sequence[Measurable],
    *,
    batch_records: int,
    timeout_s: float,
    database_url: str | None = None,
) -> Topology:
    """The messages published to a fresh upstream topic, then the three forwarders started; timed from
    the moment all three hold their partitions until statistics has read every case and decision. With
    ``database_url`` (an owner's), the forwarders are durable, each in a fresh schema dropped afterwards.
    """
    tag = uuid.uuid4().hex[:8]
    topics = {name: f"bench.topology.{tag}.{name}" for name in ("upstream", "cases", "decisions")}
    returns = sum(RETURN in m.value for m in messages)
    expect: dict[Role, tuple[list[str], str | None, int]] = {
        "intake": ([topics["upstream"]], topics["cases"], len(messages)),
        "eligibility": ([topics["cases"]], topics["decisions"], len(messages)),
        "statistics": ([topics["cases"], topics["decisions"]], None, len(messages) + returns),
    }
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.push_async_callback(_quietly, delete_topics(kafka, list(topics.values())))
        await create_topics(kafka, list(topics.values()))
        conn = None
        if database_url is not None:
            conn = await asyncpg.connect(database_url)
            cleanup.push_async_callback(conn.close)
            cleanup.push_async_callback(_quietly, drop_schemas(conn, tag))  # runs before the close
            await create_schemas(conn, tag)
        await publish(messages, kafka=kafka, topic=topics["upstream"], speed=None)

        # The passwords go on the forwarders' stdin, out of the process list.
        options = b"".join(
            json.dumps(dataclasses.asdict(o) if o is not None else None, default=str).encode() + b"\n"
            for o in (kafka, Database(database_url, tag) if database_url is not None else None)
        )
        launched = time.time()
        forwarders = [
            await _Forwarder.start(role, *expect[role], batch_records, options, cleanup) for role in ROLES
        ]
        async with asyncio.timeout(timeout_s):
            for forwarder in forwarders:
                await forwarder.said("ready")
            before = {m.name: m.cpu_s() for m in others}
            go = time.time()
            for forwarder in forwarders:
                forwarder.go()
            done = {f.role: await f.said("done") for f in forwarders}
        others_cpu = {m.name: m.cpu_s() - before[m.name] for m in others}
        topology = Topology(
            tag=tag,
            submissions=len(messages),
            start_s=go - launched,
            run_s=max(d["done"] for d in done.values()) - go,
            read=done["statistics"]["seen"],
            forwarders_cpu_s=sum(done[f.role]["cpu_s"] - f.ready_cpu_s for f in forwarders),
            others_cpu_s=others_cpu,
            recorded=await count_rows(conn, tag) if conn is not None else None,
        )
    return topology


async def _quietly(cleanup: Any) -> None:
    """One clean-up step whose failure does not keep the next from running."""
    with contextlib.suppress(Exception):
        await cleanup


class _Forwarder:
    """One forwarding process: started, read line by line, killed at the latest when the run ends."""

    def __init__(self, role: Role, process: asyncio.subprocess.Process) -> None:
        self.role = role
        self.process = process
        self.ready_cpu_s = 0.0

    @classmethod
    async def start(
        cls,
        role: Role,
        sources: list[str],
        sink: str | None,
        expect: int,
        batch_records: int,
        options: bytes,
        cleanup: contextlib.AsyncExitStack,
    ) -> _Forwarder:
        arguments = [a for source in sources for a in ("--source", source)]
        arguments += ["--sink", sink] if sink is not None else []
        arguments += ["--expect", str(expect), "--batch-records", str(batch_records)]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.bench.raw_forwarder", role, *arguments,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        forwarder = cls(role, process)
        cleanup.push_async_callback(forwarder.stop)
        assert process.stdin is not None
        process.stdin.write(options)
        return forwarder

    async def said(self, kind: str) -> dict[str, Any]:
        """The next line the forwarder says, which must be of ``kind`` ("ready", "done")."""
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        fields: dict[str, Any] = json.loads(line) if line else {}
        if kind not in fields:
            raise RuntimeError(f"the {self.role} forwarder said {line!r} where {kind} was due")
        if kind == "ready":
            self.ready_cpu_s = fields["cpu_s"]
        return fields

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")

    async def stop(self) -> None:
        """Its stdin closed (a forwarder stops at its end); killed if it is still running after that."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 10)
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
