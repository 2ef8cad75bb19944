"""Benchmark: the event store beside the `eventsourcing` library's PostgreSQL persistence and raw asyncpg.

Run with ``uv run --frozen python -m tests.bench.bench_eventstore`` (see tests/bench/README.md). It brings
the stack up as the test fixture does, works in throwaway schemas of the project's database, prints a
markdown table and writes it to ``bench-results/eventstore.md``.

The machine is shared (2 cores, other suites may run), so every workload runs in short rounds that
alternate between the implementations, and each one's best round counts: all three see the same
conditions, and a round slowed down by a neighbour does not decide the result.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import orjson
import psutil
from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory, StoredEvent
from prometheus_client import REGISTRY

from amnesty_contracts import new_event_id
from amnesty_eventstore import (
    ANY,
    NO_STREAM,
    START,
    AppendRequest,
    AppendResult,
    EventStore,
    NewEvent,
    Pool,
    append_in,
    append_many_in,
    catch_up,
    create_pool,
    migrate,
)
from amnesty_runtime.heap import settle_heap
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Endpoints, Stack

CONCURRENT_WRITERS = 16
BATCH = 1000
BATCH_WRITERS = 4
STREAMS_PER_WRITER = 64
CATCH_UP_EVENTS = 500_000
TOPIC = "amnesty.cases.v1"
LIBRARY = "eventsourcing 9.5.6"

Measure = Callable[[float], Awaitable[int]]
"""Runs a workload for about the given seconds; returns how many events it wrote or read."""


# --- the events ----------------------------------------------------------------------------------------


def envelope(event_id: uuid.UUID, n: int) -> dict[str, Any]:
    """A `VoluntaryReturn` as the contract's envelope (about 600 bytes of JSON)."""
    return {
        "event_id": str(event_id),
        "type": "VoluntaryReturn",
        "schema_version": 1,
        "occurred_on": "2025-05-03",
        "recorded_at": "2025-05-04T10:11:12.123456+00:00",
        "person": f"p_{n % 100_000:043d}",
        "correlation_id": "0196a1f0-7c1e-7a3e-9b1d-3f6c2a9e4b10",
        "causation_id": "0196a1f0-7c1e-7a3e-9b1d-3f6c2a9e4b11",
        "submission": {"source": "army-plus", "submission_id": f"sub-{n:012d}"},
        "data": {
            "returned_on": "2025-05-03",
            "channel": "reserve-battalion",
            "case_number": f"c_{n % 100_000:043d}",
            "region": "UA-48",
            "unit": "A1234",
        },
    }


def new_event(n: int, *, outbox: bool = False) -> NewEvent:
    event_id = new_event_id()
    return NewEvent(
        event_id=event_id,
        type="VoluntaryReturn",
        data=envelope(event_id, n),
        occurred_on=date(2025, 5, 3),
        topic=TOPIC if outbox else None,
        key=f"p_{n % 100_000:043d}" if outbox else None,
    )


def stored_event(originator: uuid.UUID, version: int, n: int) -> StoredEvent:
    # The library stores bytes; it gets the same JSON, serialised in its timed loop as ours is.
    return StoredEvent(originator, version, "VoluntaryReturn", orjson.dumps(envelope(new_event_id(), n)))


class Streams:
    """Each writer appends round-robin to streams of its own, tracking their versions."""

    def __init__(self, writer: int) -> None:
        self.ids = [f"person-{writer}-{i}-{uuid.uuid4().hex[:8]}" for i in range(STREAMS_PER_WRITER)]
        self.originators = [uuid.uuid4() for _ in range(STREAMS_PER_WRITER)]
        self.versions = [0] * STREAMS_PER_WRITER
        self._next = itertools.cycle(range(STREAMS_PER_WRITER))

    def take(self) -> int:
        return next(self._next)


def new_stream() -> str:
    return f"person-{uuid.uuid4().hex}"


def until(seconds: float) -> Iterator[int]:
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        yield n
        n += 1


# --- amnesty_eventstore ----------------------------------------------------------------------------------


@dataclass
class Ours:
    pool: Pool
    store: EventStore
    schema: str

    async def sequential(self, seconds: float) -> int:
        streams = Streams(0)
        async with self.pool.acquire() as conn:
            written = 0
            for n in until(seconds):
                i = streams.take()
                await append_in(conn, self.schema, streams.ids[i], [new_event(n)], streams.versions[i])
                streams.versions[i] += 1
                written += 1
        return written

    async def concurrent(self, seconds: float) -> int:
        async def writer(w: int) -> int:
            streams = Streams(w)
            written = 0
            for n in until(seconds):
                i = streams.take()
                await self.store.append(streams.ids[i], [new_event(n)], streams.versions[i])
                streams.versions[i] += 1
                written += 1
            return written

        return sum(await asyncio.gather(*(writer(w) for w in range(CONCURRENT_WRITERS))))

    async def batched(self, seconds: float, writers: int, *, outbox: bool = False) -> int:
        async def writer() -> int:
            written = 0
            for _ in until(seconds):
                events = [new_event(n, outbox=outbox) for n in range(BATCH)]
                await self.store.append(f"batch-{uuid.uuid4().hex}", events, NO_STREAM)
                written += BATCH
            return written

        return sum(await asyncio.gather(*(writer() for _ in range(writers))))

    async def new_streams(self, seconds: float, writers: int) -> int:
        async def writer() -> int:
            written = 0
            async with self.pool.acquire() as conn:
                for _ in until(seconds):
                    # Each a person's first event: intake appends it expecting any, eligibility no stream.
                    requests = [
                        AppendRequest(new_stream(), [new_event(n)], ANY if n % 2 else NO_STREAM)
                        for n in range(BATCH)
                    ]
                    outcomes = await append_many_in(conn, self.schema, requests)
                    # Outcomes are values: a refused append would be counted without being written.
                    if not all(isinstance(o, AppendResult) for o in outcomes):
                        raise RuntimeError("an append to a new stream was refused")
                    written += BATCH
            return written

        return sum(await asyncio.gather(*(writer() for _ in range(writers))))

    async def catch_up(self, per_event: bool) -> int:
        read = 0
        async with self.pool.acquire() as conn:
            batches = catch_up(conn, self.schema, START)  # its default batch size
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    if per_event:
                        for _ in batch:
                            read += 1
                    else:
                        read += len(batch)
                    if read >= CATCH_UP_EVENTS:
                        break
        return read


# --- the eventsourcing library ---------------------------------------------------------------------------


@dataclass
class Library:
    recorder: ApplicationRecorder
    threads: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(CONCURRENT_WRITERS))

    def _writer(self, w: int, seconds: float) -> int:
        streams = Streams(w)
        written = 0
        for n in until(seconds):
            i = streams.take()
            streams.versions[i] += 1
            self.recorder.insert_events([stored_event(streams.originators[i], streams.versions[i], n)])
            written += 1
        return written

    def _batch_writer(self, seconds: float) -> int:
        written = 0
        for _ in until(seconds):
            originator = uuid.uuid4()
            self.recorder.insert_events([stored_event(originator, v, v) for v in range(1, BATCH + 1)])
            written += BATCH
        return written

    def _new_streams_writer(self, seconds: float) -> int:
        written = 0
        for _ in until(seconds):
            self.recorder.insert_events([stored_event(uuid.uuid4(), 1, n) for n in range(BATCH)])
            written += BATCH
        return written

    async def _in_threads(self, count: int, work: Callable[[int], int]) -> int:
        loop = asyncio.get_running_loop()
        return sum(await asyncio.gather(*(loop.run_in_executor(self.threads, work, w) for w in range(count))))

    async def sequential(self, seconds: float) -> int:
        return await self._in_threads(1, lambda w: self._writer(w, seconds))

    async def concurrent(self, seconds: float) -> int:
        return await self._in_threads(CONCURRENT_WRITERS, lambda w: self._writer(w, seconds))

    async def batched(self, seconds: float, writers: int) -> int:
        return await self._in_threads(writers, lambda _: self._batch_writer(seconds))

    async def new_streams(self, seconds: float, writers: int) -> int:
        return await self._in_threads(writers, lambda _: self._new_streams_writer(seconds))

    def _read_all(self) -> int:
        read, start = 0, 1
        while read < CATCH_UP_EVENTS and (page := self.recorder.select_notifications(start, 5000)):
            # Its payloads arrive as bytes; decoded here as ours are, so both hand out usable events.
            payloads = [orjson.loads(n.state) for n in page]
            read += len(payloads)
            start = page[-1].id + 1
        return read

    async def catch_up(self) -> int:
        return await asyncio.get_running_loop().run_in_executor(self.threads, self._read_all)


# --- raw asyncpg: no version check, no outbox, no streams table: the ceiling -----------------------------

RAW_TABLE = """
CREATE TABLE {schema}.raw_events (
    position bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id text NOT NULL,
    stream_version integer NOT NULL,
    event_id uuid PRIMARY KEY,
    type text NOT NULL,
    schema_version integer NOT NULL DEFAULT 1,
    occurred_on date,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    data json NOT NULL,  -- as the store's (migration 0011)
    metadata jsonb NOT NULL DEFAULT '{{}}',
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX ON {schema}.raw_events (transaction_id, position);
"""


@dataclass
class Raw:
    pool: Pool
    schema: str

    def _insert_one(self) -> str:
        return (
            f"INSERT INTO {self.schema}.raw_events "
            "(stream_id, stream_version, event_id, type, occurred_on, data) "
            "VALUES ($1, $2, $3, $4, $5, convert_from($6, 'UTF8')::json)"
        )

    def _insert_many(self) -> str:
        return (
            f"INSERT INTO {self.schema}.raw_events "
            "(stream_id, stream_version, event_id, type, occurred_on, data) "
            "SELECT $1, v, i, t, o, convert_from(p, 'UTF8')::json "
            "FROM unnest($2::int[], $3::uuid[], $4::text[], $5::date[], $6::bytea[]) AS u(v, i, t, o, p)"
        )

    def _insert_new_streams(self) -> str:
        return (
            f"INSERT INTO {self.schema}.raw_events "
            "(stream_id, stream_version, event_id, type, occurred_on, data) "
            "SELECT s, 1, i, t, o, convert_from(p, 'UTF8')::json "
            "FROM unnest($1::text[], $2::uuid[], $3::text[], $4::date[], $5::bytea[]) AS u(s, i, t, o, p)"
        )

    async def _writer(self, w: int, seconds: float) -> int:
        streams = Streams(w)
        sql = self._insert_one()
        written = 0
        async with self.pool.acquire() as conn:
            for n in until(seconds):
                i = streams.take()
                streams.versions[i] += 1
                e = new_event(n)
                payload = orjson.dumps(e.data)
                await conn.execute(
                    sql, streams.ids[i], streams.versions[i], e.event_id, e.type, e.occurred_on, payload
                )
                written += 1
        return written

    async def _batch_writer(self, seconds: float, *, new_streams: bool = False) -> int:
        """Groups of BATCH events: one new stream's versions 1 to BATCH, or (``new_streams``) BATCH new
        streams at version 1."""
        sql = self._insert_new_streams() if new_streams else self._insert_many()
        written = 0
        async with self.pool.acquire() as conn:
            for _ in until(seconds):
                events = [new_event(n) for n in range(BATCH)]
                streams: tuple[object, ...] = (
                    ([new_stream() for _ in events],)
                    if new_streams
                    else (f"batch-{uuid.uuid4().hex}", list(range(1, BATCH + 1)))
                )
                await conn.execute(
                    sql,
                    *streams,
                    [e.event_id for e in events],
                    [e.type for e in events],
                    [e.occurred_on for e in events],
                    [orjson.dumps(e.data) for e in events],
                )
                written += BATCH
        return written

    async def sequential(self, seconds: float) -> int:
        return await self._writer(0, seconds)

    async def concurrent(self, seconds: float) -> int:
        return sum(await asyncio.gather(*(self._writer(w, seconds) for w in range(CONCURRENT_WRITERS))))

    async def batched(self, seconds: float, writers: int) -> int:
        return sum(await asyncio.gather(*(self._batch_writer(seconds) for _ in range(writers))))

    async def new_streams(self, seconds: float, writers: int) -> int:
        return sum(
            await asyncio.gather(*(self._batch_writer(seconds, new_streams=True) for _ in range(writers)))
        )

    async def catch_up(self, events_schema: str) -> int:
        """The same rows as the subscription reads, fetched through a cursor and not decoded."""
        read = 0
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            cursor = await conn.cursor(
                "SELECT position, transaction_id, stream_id, stream_version, event_id, type, schema_version, "
                f"occurred_on, recorded_at, data::text, metadata::text FROM {events_schema}.events "
                "ORDER BY transaction_id, position"
            )
            while read < CATCH_UP_EVENTS and (rows := await cursor.fetch(2000)):
                read += len(rows)
        return read


# --- running and reporting -------------------------------------------------------------------------------


@dataclass
class Result:
    workload: str
    ours: float
    library: float | None = None
    raw: float | None = None
    target: str = ""
    note: str = ""


class CpuMeter:
    """How busy the whole machine was (all processes), to put the figures in context."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]

    def busy_percent(self) -> float:
        total, idle = self._read()
        return 100.0 * (1 - (idle - self._start[1]) / max(1, total - self._start[0]))


@dataclass(frozen=True)
class Best:
    """A contender's best round: its rate, and the CPU it cost per event in that round."""

    rate: float = 0.0
    client_us: float = 0.0
    server_us: float | None = None


class CpuUse:
    """CPU seconds used so far by this process (every contender's client side: ours, the library's threads,
    raw asyncpg) and, when the database runs on this machine, by the PostgreSQL server's processes."""

    def __init__(self, postmaster: psutil.Process | None) -> None:
        self._client = psutil.Process()
        self._postmaster = postmaster

    def client_s(self) -> float:
        t = self._client.cpu_times()
        return float(t.user + t.system)

    def server_s(self) -> float | None:
        if self._postmaster is None:
            return None
        t = self._postmaster.cpu_times()
        # Backends that ended were added to the postmaster's children_* times when it reaped them.
        total = t.user + t.system + t.children_user + t.children_system
        for backend in self._postmaster.children():
            with contextlib.suppress(psutil.NoSuchProcess):
                b = backend.cpu_times()
                total += b.user + b.system
        return float(total)


async def best_of(
    rounds: int, seconds: float, contenders: dict[str, Measure], cpu: CpuUse
) -> dict[str, Best]:
    """Alternate the contenders round by round; each one's best round (events/s, CPU per event)."""
    best: dict[str, Best] = dict.fromkeys(contenders, Best())
    for _ in range(rounds):
        for name, measure in contenders.items():
            client, server = cpu.client_s(), cpu.server_s()
            started = time.perf_counter()
            count = await measure(seconds)
            rate = count / (time.perf_counter() - started)
            if rate > best[name].rate:
                server_after = cpu.server_s()
                best[name] = Best(
                    rate,
                    1e6 * (cpu.client_s() - client) / max(count, 1),
                    None
                    if server is None or server_after is None
                    else 1e6 * (server_after - server) / max(count, 1),
                )
    return best


def cpu_note(best: dict[str, Best]) -> str:
    """CPU per event in each contender's best round: this process, and the local PostgreSQL server."""

    def per_event(b: Best) -> str:
        server = "" if b.server_us is None else f" + {b.server_us:.0f} µs PostgreSQL"
        return f"{b.client_us:.0f} µs client{server}"

    return "CPU per event: " + "; ".join(f"{name} {per_event(b)}" for name, b in best.items())


def group_callers(schema: str, sample: str) -> float:
    """The store's group-commit histogram: ``sample`` is "sum" (callers) or "count" (groups)."""
    name = f"amnesty_group_commit_callers_{sample}"
    return REGISTRY.get_sample_value(name, {"name": f"eventstore-{schema}"}) or 0.0


def group_size(schema: str) -> float:
    return group_callers(schema, "sum") / (group_callers(schema, "count") or 1.0)


async def appends(
    ours: Ours, library: Library, raw: Raw, rounds: int, seconds: float, cpu: CpuUse
) -> list[Result]:
    results = []
    best = await best_of(
        rounds, seconds, {"ours": ours.sequential, "library": library.sequential, "raw": raw.sequential}, cpu
    )
    results.append(
        Result(
            "single-event appends, 1 connection, sequential",
            best["ours"].rate,
            best["library"].rate,
            best["raw"].rate,
            note=cpu_note(best),
        )
    )
    groups_before = group_callers(ours.schema, "count")
    sum_before = group_callers(ours.schema, "sum")
    best = await best_of(
        rounds, seconds, {"ours": ours.concurrent, "library": library.concurrent, "raw": raw.concurrent}, cpu
    )
    groups = group_callers(ours.schema, "count") - groups_before
    appended = group_callers(ours.schema, "sum") - sum_before
    results.append(
        Result(
            f"single-event appends, {CONCURRENT_WRITERS} concurrent writers",
            best["ours"].rate,
            best["library"].rate,
            best["raw"].rate,
            "≥ 3x library and above raw",
            f"ours: group commit, {appended / max(groups, 1):.1f} appends per transaction on average; "
            f"library: {CONCURRENT_WRITERS} threads, pool of {CONCURRENT_WRITERS}; "
            f"raw: {CONCURRENT_WRITERS} connections, one transaction per event. {cpu_note(best)}",
        )
    )

    async def three_ways(workload: str, writers: int) -> dict[str, Best]:
        """The best round of ``workload`` with ``writers`` writers: ours, the library's and raw."""
        implementations = {"ours": ours, "library": library, "raw": raw}
        measures: dict[str, Measure] = {
            n: functools.partial(getattr(i, workload), writers=writers) for n, i in implementations.items()
        }
        return await best_of(rounds, seconds, measures, cpu)

    for writers in (1, BATCH_WRITERS):
        best = await three_ways("batched", writers)
        same_envelopes = "raw: INSERT … SELECT unnest of the same envelopes. " if writers == 1 else ""
        results.append(
            Result(
                f"batched appends, {BATCH} events per append, {writers} writer{'s' if writers > 1 else ''}",
                best["ours"].rate,
                best["library"].rate,
                best["raw"].rate,
                "≥ 85% of raw",
                same_envelopes + cpu_note(best),
            )
        )
    best = await best_of(
        rounds, seconds, {"ours": functools.partial(ours.batched, writers=BATCH_WRITERS, outbox=True)}, cpu
    )
    results.append(
        Result(
            f"batched appends with an outbox row per event, {BATCH_WRITERS} writers",
            best["ours"].rate,
            note="every event also written to the outbox (its JSON again, as the Kafka value)",
        )
    )
    for writers in (1, BATCH_WRITERS):
        best = await three_ways("new_streams", writers)
        contenders = (
            f"ours: append_many_in, one statement per group, each append creating its stream (migration "
            f"0010's path), half expecting any, half no stream; library: {BATCH} new originators at version "
            f"1 in one insert_events; raw: INSERT … SELECT unnest with {BATCH} stream ids. "
            if writers == 1
            else ""
        )
        results.append(
            Result(
                f"batched appends to new streams, {BATCH} one-event appends per group, "
                f"{writers} writer{'s' if writers > 1 else ''}",
                best["ours"].rate,
                best["library"].rate,
                best["raw"].rate,
                note=contenders + cpu_note(best),
            )
        )
    return results


async def catch_ups(ours: Ours, library: Library, raw: Raw, schema: str, rounds: int) -> list[Result]:
    # Top up to the catch-up size with batched appends (not timed).
    present = await ours.pool.fetchval(f"SELECT count(*) FROM {schema}.events")
    while present < CATCH_UP_EVENTS:
        present += await ours.batched(1.0, BATCH_WRITERS)
    await ours.pool.execute(f"VACUUM ANALYZE {schema}.events")
    rates: dict[str, tuple[float, int]] = {}
    reads: dict[str, Callable[[], Awaitable[int]]] = {
        "batches": functools.partial(ours.catch_up, per_event=False),
        "per_event": functools.partial(ours.catch_up, per_event=True),
        "raw": functools.partial(raw.catch_up, schema),
        "library": library.catch_up,
    }
    for _ in range(rounds):
        for name, read in reads.items():
            started = time.perf_counter()
            count = await read()
            rate = count / (time.perf_counter() - started)
            rates[name] = max(rates.get(name, (0.0, 0)), (rate, count))
    note = (
        f"{rates['batches'][1]:,} events of ~600 B JSON; raw: the same rows through a cursor, not decoded; "
        f"library: select_notifications pages of 5000 over its {rates['library'][1]:,} events, "
        "payloads decoded as ours are"
    )
    return [
        Result(
            "catch-up read, catch_up() batches (server-side cursor)",
            rates["batches"][0],
            rates["library"][0],
            rates["raw"][0],
            "≥ 60% of raw",
            note,
        ),
        Result(
            "catch-up read, catch_up() per event",
            rates["per_event"][0],
            rates["library"][0],
            rates["raw"][0],
        ),
    ]


def render(results: list[Result], busy: float, seconds: float, rounds: int, elapsed: float) -> str:
    def rate(value: float | None) -> str:
        return "—" if value is None else f"{value:,.0f}/s"

    lines = [
        "# Event store benchmark",
        "",
        f"| workload | amnesty_eventstore | {LIBRARY} | ours ÷ library | raw asyncpg (ceiling) | ours ÷ raw "
        "| target (issue 10) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        ratio = "—" if r.library is None else f"{r.ours / r.library:.1f}x"
        of_raw = "—" if r.raw is None else f"{100 * r.ours / r.raw:.0f}%"
        lines.append(
            f"| {r.workload} | {rate(r.ours)} | {rate(r.library)} | {ratio} | {rate(r.raw)} | {of_raw} "
            f"| {r.target} |"
        )
    lines += ["", "Notes:"]
    lines += [f"- {r.workload}: {r.note}" for r in results if r.note]
    lines += [
        f"- Each append workload: {rounds} rounds of {seconds:g} s alternating the implementations, each "
        f"catch-up {max(1, rounds - 1)} rounds; the best round of each. Events are contract envelopes "
        "of ~600 B JSON with UUIDv7 ids; fsync and synchronous_commit on.",
        f"- {LIBRARY}: PostgresApplicationRecorder.insert_events with POSTGRES_ENABLE_DB_FUNCTIONS=y, "
        "its fastest configuration.",
        "- This process ran every contender under the services' garbage collector settings "
        "(amnesty_runtime.heap.settle_heap).",
        f"- The machine (2 cores, shared) was {busy:.0f}% busy during the run; total {elapsed:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


async def new_schema(admin: asyncpg.Connection, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await admin.execute(f"CREATE SCHEMA {name}")
    return name


def library_recorder(admin_url: str, schema: str) -> tuple[InfrastructureFactory[Any], ApplicationRecorder]:
    url = urlsplit(admin_url)
    factory = InfrastructureFactory.construct(
        {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.lstrip("/"),
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or ""),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
            "POSTGRES_POOL_SIZE": str(CONCURRENT_WRITERS),
        }
    )
    return factory, factory.application_recorder()


async def run(endpoints: Endpoints, rounds: int, seconds: float, postmaster: psutil.Process | None) -> str:
    started = time.perf_counter()
    meter = CpuMeter()
    admin = await asyncpg.connect(endpoints.admin_database_url)
    schemas = [await new_schema(admin, p) for p in ("bench_store", "bench_library", "bench_raw")]
    ours_schema, library_schema, raw_schema = schemas
    pool = await create_pool(endpoints.admin_database_url, min_size=4, max_size=CONCURRENT_WRITERS + 8)
    factory, recorder = library_recorder(endpoints.admin_database_url, library_schema)
    library = Library(recorder)
    # The collector as the services run it (their catch-ups and appends happen under it), for every
    # contender alike.
    settle_heap()
    try:
        await migrate(pool, ours_schema)
        await pool.execute(RAW_TABLE.format(schema=raw_schema))
        async with EventStore(pool, ours_schema) as store:
            ours = Ours(pool, store, ours_schema)
            raw = Raw(pool, raw_schema)
            results = await appends(ours, library, raw, rounds, seconds, CpuUse(postmaster))
            results += await catch_ups(ours, library, raw, ours_schema, max(1, rounds - 1))
        return render(results, meter.busy_percent(), seconds, rounds, time.perf_counter() - started)
    finally:
        library.threads.shutdown()
        factory.close()
        await pool.close()
        for schema in schemas:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one round")
    args = parser.parse_args()
    settings = InfraSettings()
    stack = Stack(settings)
    already_running = stack.kafka.running() is not None and stack.postgres.running() is not None
    await stack.up()
    try:
        postgres = stack.postgres.running()  # None when the database is not this stack's own
        postmaster = None if postgres is None else psutil.Process(postgres.pid)
        table = await run(stack.endpoints, args.rounds, args.seconds, postmaster)
    finally:
        if not already_running:
            stack.down()
    print(table)
    out = settings.home / "bench-results" / "eventstore.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(table)
    print(f"written to {out}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
