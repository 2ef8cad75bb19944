"""The whole system end to end on the real stack: intake, eligibility and statistics as real processes.

Measures, each figure beside its target:

1. throughput: a backlog of window-1 cases and returns (half each, one of each per fresh person)
   published to the upstream topic before the services start, timed from the three being ready until
   the statistics summary shows every case, every return and every grant;
2. the raw Kafka ceiling of the same run: the same messages produced (acks=all) and consumed by one
   consumer on a fresh topic of the same broker, and the ratio of (1) to it; then the raw ceilings of
   the pipeline's topology (``raw_topology``): the same messages through three processes that only
   forward them from topic to topic as the services do, then the same recording each batch in
   PostgreSQL first, and the ratios of (1) to those;
3. return → decision latency: with the pipeline caught up, returns of persons whose cases it already
   knows, published at a steady rate; each one timed from its publish to its decision on the topic; in
   several rounds of fresh persons, judged on the median round's p99 (near saturation one round's p99
   swings several-fold between rounds of the same code);
4. CPU time per submission of each process during (1) (the services, the PostgreSQL server and all its
   processes, the Kafka broker, this script, everything else on the machine), and each service's peak RSS;
5. when the server loads pg_stat_statements (AMNESTY_PG_STAT_STATEMENTS=true for the local stack), where
   PostgreSQL's time went during (1): the top statements by execution time, and the WAL written.

Run with ``make bench`` (or ``python -m tests.bench.bench_e2e --help`` for the sizes); prints a table and
writes it to bench-results/e2e.md. With ``--cpu-before`` (an e2e.md of an earlier run, e.g. of the commit
before a change) it also writes bench-results/e2e-cpu.md: (4) per process, before and after, with and
without start-up. Not a test: it asserts nothing, it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx2
import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from amnesty_contracts import REGION_NAMES
from amnesty_eventstore import Pool, create_pool
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Endpoints, Stack
from amnesty_simulator.publisher import publish
from amnesty_simulator.submissions import Outgoing
from tests.bench.raw_topology import Topology, bench_topology
from tests.support.intake import encoded, recorded_submission_id, submission
from tests.support.kafka import _partitions, create_topics, delete_topics, end_offsets, read_all
from tests.support.pipeline import Pipeline, pipeline_under_test
from tests.support.waiting import checkpoints_cover, eventually

OUT = Path("bench-results")
REPORT = OUT / "e2e.md"
CPU_COMPARISON = OUT / "e2e-cpu.md"

# Fresh persons: 10-digit tax numbers from these bases, the throughput run's and the latency run's apart.
THROUGHPUT_PERSONS = 7_000_000_000
LATENCY_PERSONS = 6_000_000_000

# Window 1 of the active rule set: absence before 2024-11-29, return 2024-11-29..2025-03-01. Spread over
# days and regions as real traffic is, so that the read models' rows are not one hot row.
ABSENCES_FROM, ABSENCE_DAYS = date(2024, 1, 1), 300  # the last absence: 2024-10-26
RETURNS_FROM, RETURN_DAYS = date(2024, 11, 29), 92  # the last return: 2025-02-28
REGIONS = sorted(REGION_NAMES)

# A service's test environment polls its read model fast so that tests end quickly; the bench measures
# what production runs, so these go back to the service's defaults.
STATISTICS_TEST_TUNING = ("VERSION_POLL_S", "RETIRED_GRACE_S", "LAG_INTERVAL_S", "FIGURES_REFRESH_S")

# How long after the last return was sent the latency run still waits for decisions.
GRACE_S = 30.0
# The latency run's p99 is also given for each window this long of its sending.
LATENCY_WINDOW_S = 5.0
# Each latency round's persons start this far above the previous round's: fresh persons, fresh ids.
LATENCY_ROUND_PERSONS = 100_000_000

TARGET_THROUGHPUT = 5_000.0
TARGET_RATIO = 0.12
TARGET_P99_MS = 250.0
TARGET_RSS_MB = 200.0


def return_id(tag: str, i: int) -> str:
    # Never the person id nor the case number (a contract rule); tagged, because intake would take a
    # submission id seen before for a resend.
    return f"{tag}-return-{i}"


def window_1_persons(first: int, count: int, tag: str) -> tuple[list[Outgoing], list[Outgoing]]:
    """For ``count`` fresh persons: one window-1 CaseOpened each, and one VoluntaryReturn each that the
    rules grant. Keyed as upstream systems key them: by their own record id (``source:submission_id``)."""
    at = datetime(2025, 3, 1, tzinfo=UTC)  # the simulated send time; unused when publishing at full speed
    cases, returns = [], []
    for i in range(count):
        person = f"{first + i:010d}"
        absent = ABSENCES_FROM + timedelta(days=i % ABSENCE_DAYS)
        case = submission(
            source="erdr",
            submission_id=f"{tag}-open-{i}",
            person_id=person,
            case_number=f"{first + i:017d}",
            article="407" if i % 2 else "408",
            absent_since=absent.isoformat(),
            registered_on=(absent + timedelta(days=10)).isoformat(),
            region=REGIONS[i % len(REGIONS)],
        )
        back = submission(
            "VoluntaryReturn",
            source="army-plus",
            submission_id=return_id(tag, i),
            person_id=person,
            returned_on=(RETURNS_FROM + timedelta(days=i % RETURN_DAYS)).isoformat(),
            channel="army-plus",
        )
        cases.append(Outgoing(at, f"erdr:{case['submission_id']}".encode(), encoded(case)))
        returns.append(Outgoing(at, f"army-plus:{back['submission_id']}".encode(), encoded(back)))
    return cases, returns


# --- processes: CPU time and memory -------------------------------------------------------------------


@dataclass
class Measured:
    """A process whose CPU time is read before and after a run; with ``tree``, every process under it."""

    name: str
    root: psutil.Process
    tree: bool = True
    peak_rss: int = 0

    def processes(self) -> list[psutil.Process]:
        return [self.root, *(self.root.children(recursive=True) if self.tree else [])]

    def cpu_s(self) -> float:
        """User + system seconds so far. PostgreSQL's backends come and go during a run: the kernel adds
        the times of a child that ended to its parent's ``children_*`` times, so they are counted too."""
        total = 0.0
        for process in self.processes():
            try:
                t = process.cpu_times()
            except psutil.NoSuchProcess:  # ended since it was listed: counted in its parent's children_*
                continue
            total += t.user + t.system + (t.children_user + t.children_system if self.tree else 0.0)
        return total

    def sample_rss(self) -> None:
        rss = 0
        for process in self.processes():
            try:
                rss += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        self.peak_rss = max(self.peak_rss, rss)


def listener(port: int | None) -> psutil.Process | None:
    """The local process listening on ``port`` (None when it is not on this machine or not visible)."""
    if port is None:
        return None
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:  # other users' sockets are visible to root only
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    return None


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def postgres_port(endpoints: Endpoints) -> int | None:
    database = urlsplit(endpoints.admin_database_url)
    return (database.port or 5432) if database.hostname in LOOPBACK_HOSTS else None


def kafka_port(endpoints: Endpoints) -> int | None:
    host, _, port = endpoints.kafka_bootstrap_servers.split(",")[0].rpartition(":")
    return int(port) if host in LOOPBACK_HOSTS else None


@dataclass
class Backends:
    """The PostgreSQL backends serving some client processes (matched by their TCP connections' ports),
    and the CPU seconds each had used when last seen: the part of the server's work that is theirs, while
    other people's tests share the server. A backend that ends counts up to its last sample."""

    postmaster: psutil.Process
    port: int
    clients: list[psutil.Process]
    judged: set[int] = field(default_factory=set)
    theirs: dict[int, psutil.Process] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)

    def sample(self) -> None:
        fresh = [b for b in self.postmaster.children() if b.pid not in self.judged]
        if fresh:  # only a new backend needs its connection looked up
            ports = {
                c.laddr.port
                for client in self.clients
                for c in _tcp(client)
                if c.raddr and c.raddr.port == self.port
            }
            for backend in fresh:
                self.judged.add(backend.pid)
                if any(c.raddr and c.raddr.port in ports for c in _tcp(backend)):
                    self.theirs[backend.pid] = backend
        for pid, backend in self.theirs.items():
            with contextlib.suppress(psutil.NoSuchProcess):
                t = backend.cpu_times()
                self.cpu[pid] = t.user + t.system

    def cpu_s(self) -> float:
        return sum(self.cpu.values())


def _tcp(process: psutil.Process) -> list[Any]:
    try:
        return list(process.net_connections(kind="tcp"))
    except psutil.Error:  # ended, or not ours to look at
        return []


def infrastructure(endpoints: Endpoints) -> list[Measured]:
    """The PostgreSQL server (its postmaster and every process under it) and the Kafka broker, when they
    run on this machine; found by the ports they listen on, so an external DATABASE_URL works too."""
    found = []
    for name, port in (
        ("postgresql server", postgres_port(endpoints)),
        ("kafka broker", kafka_port(endpoints)),
    ):
        process = listener(port)
        if process is not None:
            found.append(Measured(f"{name} ({process.username()}, all clients)", process))
    return found


def busy_cpu_s() -> float:
    """The whole machine's busy CPU seconds (all cores); guest time is already inside user time."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))


async def sample_until(
    measured: list[Measured], backends: Backends | None, stop: asyncio.Event, every_s: float = 0.25
) -> None:
    while not stop.is_set():
        for m in measured:
            m.sample_rss()
        if backends is not None:
            backends.sample()
        with contextlib.suppress(TimeoutError):  # the next round is due
            await asyncio.wait_for(stop.wait(), every_s)


# --- (2) the raw ceiling --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    produce_s: float
    consume_s: float
    messages: int

    @property
    def rate(self) -> float:
        return self.messages / (self.produce_s + self.consume_s)


async def bench_raw(endpoints: Endpoints, messages: list[Outgoing]) -> Raw:
    """The same messages through the same broker with nothing in between: produced as the simulator
    publishes (acks=all, idempotent), then read back by one consumer. The topic gets the partitions the
    test support gives the pipeline's own topics, so both sides spread the load alike."""
    bootstrap = endpoints.kafka_admin
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, [topic])
    try:
        produce_s = await publish(messages, kafka=bootstrap, topic=topic, speed=None)
        started = time.perf_counter()
        records = await read_all(bootstrap, topic)
        consume_s = time.perf_counter() - started
        if len(records) != len(messages):
            raise RuntimeError(f"read {len(records)} of {len(messages)} messages back")
        return Raw(produce_s, consume_s, len(messages))
    finally:
        await delete_topics(bootstrap, [topic])


# --- (5) PostgreSQL's time by statement -----------------------------------------------------------------

STATEMENTS_SHOWN = 12
LABEL_CHARS = 70
# The first schema a statement names: each service's statements are the same text in its own schema.
QUOTED_SCHEMA = re.compile(r'"([^"]+)"\.')


@dataclass(frozen=True)
class Statement:
    """One statement's figures over the run, its text as pg_stat_statements normalizes it (no values)."""

    query: str
    calls: int
    total_ms: float
    rows: int
    wal_bytes: int


@dataclass(frozen=True)
class Statements:
    """The statements that took the most execution time, the totals over all of them, and the WAL the
    whole server wrote meanwhile (None without pg_stat_wal, before PostgreSQL 14)."""

    top: list[Statement]
    count: int
    total_ms: float
    wal_bytes: int | None


async def wal_bytes(pool: Pool) -> int | None:
    """The server's WAL written so far, by pg_stat_wal (never reset here: other clients may read it)."""
    if await pool.fetchval("SELECT to_regclass('pg_catalog.pg_stat_wal') IS NULL"):
        return None
    return int(await pool.fetchval("SELECT wal_bytes FROM pg_stat_wal"))


async def count_statements_afresh(pool: Pool) -> str | None:
    """Reset pg_stat_statements' counters (creating the extension if need be); or say why it cannot."""
    try:
        loaded = await pool.fetchval("SHOW shared_preload_libraries")  # superusers' (and monitors') only
        if "pg_stat_statements" not in [name.strip() for name in loaded.split(",")]:
            return (
                "the server does not load pg_stat_statements (the local stack loads it when started with "
                "AMNESTY_PG_STAT_STATEMENTS=true)"
            )
        if int(await pool.fetchval("SHOW server_version_num")) < 130000:
            return "its figures of WAL per statement need PostgreSQL 13 or later"
        await pool.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await pool.execute("SELECT pg_stat_statements_reset()")
    except asyncpg.InsufficientPrivilegeError as exc:
        return f"the admin role may not see, create or reset pg_stat_statements ({exc})"
    return None


async def statements_since_reset(pool: Pool, wal_before: int | None) -> Statements:
    """The top statements of this database since ``count_statements_afresh``, every client's."""
    rows = await pool.fetch(
        "SELECT query, calls, total_exec_time, rows, wal_bytes FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "ORDER BY total_exec_time DESC"
    )
    wal_after = await wal_bytes(pool)
    return Statements(
        [
            Statement(r["query"] or "", r["calls"], r["total_exec_time"], r["rows"], int(r["wal_bytes"]))
            for r in rows[:STATEMENTS_SHOWN]
        ],
        len(rows),
        sum(r["total_exec_time"] for r in rows),
        None if wal_before is None or wal_after is None else wal_after - wal_before,
    )


def statement_label(query: str) -> str:
    """The statement's first characters on one line, as a code span a markdown table can hold."""
    text = " ".join(query.split())
    if len(text) > LABEL_CHARS:
        text = text[: LABEL_CHARS - 1] + "…"
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def statement_schema(query: str) -> str:
    """The first schema the statement names (quoted, as the store writes them), or "" if none."""
    named = QUOTED_SCHEMA.search(query)
    return "" if named is None else named.group(1)


def statements_table(statements: Statements) -> list[str]:
    """(5) as markdown lines: the statements by execution time, then the server's WAL."""
    wal = (
        "pg_stat_wal: none on this server"
        if statements.wal_bytes is None
        else f"the whole server wrote {statements.wal_bytes / 1e6:,.0f} MB of WAL (pg_stat_wal)"
    )
    lines = [
        "## 5. PostgreSQL's time by statement during (1)",
        "",
        f"The {len(statements.top)} of {statements.count:,} statements that took the most execution time, "
        f"of {statements.total_ms / 1000:,.1f} s in all, launch → summary complete (pg_stat_statements: "
        "top-level statements of every client of the database, normalized, utility statements not "
        f"tracked); meanwhile {wal}.",
        "",
        "| statement | schema | calls | total (s) | rows | WAL (MB) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {statement_label(s.query)} | {statement_schema(s.query)} | {s.calls:,} "
        f"| {s.total_ms / 1000:,.2f} | {s.rows:,} | {s.wal_bytes / 1e6:,.1f} |"
        for s in statements.top
    ]
    return lines


# --- (1) throughput and (4) CPU and memory ------------------------------------------------------------


@dataclass
class Throughput:
    submissions: int
    publish_s: float
    start_s: float  # launch → all three ready
    run_s: float  # ready → the summary shows everything
    stages: dict[str, float]  # seconds after ready at which each service had handled its whole input
    cpu_s: dict[str, float]  # launch → done, per process
    startup_cpu_s: dict[str, float]  # launch → ready, per service
    rss: dict[str, int]  # peak, per service
    services_backends_cpu_s: float  # the part of the PostgreSQL server's CPU that served the services
    services_backends: int
    measured: list[Measured]  # this run's processes: the services, the server, the broker, the bench
    summary: dict[str, Any]
    decisions: int
    statements: Statements | None  # None: the server could not count them

    @property
    def rate(self) -> float:
        return self.submissions / self.run_s


async def summary_of(http: httpx2.AsyncClient) -> dict[str, Any]:
    response = await http.get("/v1/stats/summary")
    response.raise_for_status()
    return dict(response.json())


def running(pipeline: Pipeline) -> None:
    """Raise when a service has exited: a wait on its output would otherwise last its whole timeout."""
    for service in (pipeline.intake.process, pipeline.eligibility.process, pipeline.statistics.process):
        if service.process is not None and service.process.returncode is not None:
            tail = service.log.read_text()[-3000:]
            raise RuntimeError(f"{service.script} exited with {service.process.returncode}:\n{tail}")


async def progress(http: httpx2.AsyncClient, pipeline: Pipeline) -> dict[str, Any]:
    running(pipeline)
    return await summary_of(http)


def shows(cases: int, returns: int) -> Callable[[dict[str, Any]], bool]:
    """The summary counts at least these cases, returns and grants (one grant per return)."""
    return lambda s: (
        s["cases_opened"] >= cases and s["voluntary_returns"] >= returns and s["amnesties_granted"] >= returns
    )


async def bench_throughput(
    endpoints: Endpoints, pool: Pool, pipeline: Pipeline, messages: list[Outgoing], timeout_s: float
) -> Throughput:
    intake, eligibility, statistics = pipeline.intake, pipeline.eligibility, pipeline.statistics
    total, persons = len(messages), len(messages) // 2
    # Published before the services start: they begin with the whole backlog waiting.
    publish_s = await publish(messages, kafka=endpoints.kafka_admin, topic=intake.upstream, speed=None)

    skipped = await count_statements_afresh(pool)
    if skipped is not None:
        print(f"PostgreSQL's time by statement: skipped, {skipped}")
    wal_before = await wal_bytes(pool)
    others = [
        *infrastructure(endpoints),
        Measured("bench script (this process)", psutil.Process(), tree=False),
    ]
    before = {m.name: m.cpu_s() for m in others}
    machine_before = busy_cpu_s()
    launched = time.perf_counter()
    await pipeline.start()
    ready = time.perf_counter()
    services = [
        Measured(name, psutil.Process(s.process.process.pid))
        for name, s in (("intake", intake), ("eligibility", eligibility), ("statistics", statistics))
        if s.process.process is not None
    ]
    startup = {m.name: m.cpu_s() for m in services}
    postmaster, port = listener(postgres_port(endpoints)), postgres_port(endpoints)
    backends = (
        Backends(postmaster, port, [m.root for m in services])
        if postmaster is not None and port is not None
        else None
    )
    stop_sampling = asyncio.Event()
    sampler = asyncio.create_task(sample_until(services, backends, stop_sampling))

    stages: dict[str, float] = {}

    async def mark(name: str, reached: Awaitable[None]) -> None:
        await reached
        stages[name] = time.perf_counter() - ready

    # Where the time goes: when each service has handled all of its input (intake one case event per
    # submission, so eligibility's input is as long as intake's).
    markers = [
        asyncio.create_task(mark("intake", checkpoints_cover(pool, intake.schema, total, timeout_s))),
        asyncio.create_task(
            mark("eligibility", checkpoints_cover(pool, eligibility.schema, total, timeout_s))
        ),
    ]
    async with httpx2.AsyncClient(base_url=statistics.process.url, timeout=30) as http:
        final = await eventually(lambda: progress(http, pipeline), shows(persons, persons), timeout_s)
    done = time.perf_counter()
    after = {m.name: m.cpu_s() for m in [*services, *others]}
    machine = busy_cpu_s() - machine_before
    if backends is not None:
        backends.sample()
    statements = None if skipped is not None else await statements_since_reset(pool, wal_before)
    stages["statistics"] = done - ready
    stop_sampling.set()
    await sampler
    await asyncio.gather(*markers)  # already reached: everything is in the summary

    cpu = {m.name: after[m.name] for m in services} | {m.name: after[m.name] - before[m.name] for m in others}
    cpu["everything else on the machine"] = machine - sum(cpu.values())
    return Throughput(
        submissions=total,
        publish_s=publish_s,
        start_s=ready - launched,
        run_s=done - ready,
        stages=stages,
        cpu_s=cpu,
        startup_cpu_s=startup,
        rss={m.name: m.peak_rss for m in services},
        services_backends_cpu_s=backends.cpu_s() if backends is not None else math.nan,
        services_backends=len(backends.theirs) if backends is not None else 0,
        summary=final,
        decisions=await end_offsets(endpoints.kafka_admin, eligibility.decisions),
        measured=[*services, *others],
        statements=statements,
    )


# --- (3) return → decision latency --------------------------------------------------------------------


def percentile_ms(values: list[float], q: float) -> float:
    """Nearest rank: the smallest of ``values`` (seconds) that at least a share ``q`` of them reach, in ms."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else math.nan


@dataclass
class Latency:
    """Per return (by submission id): when it was handed to the producer, when intake's case event for it
    arrived on the cases topic, when its decision arrived on the decisions topic."""

    asked_rate: float
    planned: int = 0  # returns this round was to send (a deadline may stop it short)
    send_s: float = 0.0
    busy_cores: float = 0.0  # the machine's, while sending
    measured_cores: float = 0.0  # of that, this run's processes
    bench_cores: float = 0.0  # of those, this script's (sending the returns, reading two topics)
    sent_at: dict[str, float] = field(default_factory=dict)  # in sending order
    recorded_at: dict[str, float] = field(default_factory=dict)
    decided_at: dict[str, float] = field(default_factory=dict)
    decision_types: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return len(self.sent_at) / self.send_s if self.send_s else 0.0

    def total_s(self, ids: list[str] | None = None) -> list[float]:
        return [
            self.decided_at[i] - self.sent_at[i]
            for i in (self.sent_at if ids is None else ids)
            if i in self.decided_at
        ]

    def hops_s(self) -> tuple[list[float], list[float]]:
        """publish → case event (intake), and case event → decision (eligibility, both relays)."""
        both = [i for i in self.sent_at if i in self.recorded_at and i in self.decided_at]
        return (
            [self.recorded_at[i] - self.sent_at[i] for i in both],
            [self.decided_at[i] - self.recorded_at[i] for i in both],
        )

    def windows_s(self, seconds: float) -> list[list[float]]:
        """The returns' times to decision by when they were sent, in windows of ``seconds`` from the first
        send: how p99 moves within one run (the machine runs near saturation, where one figure for the
        whole run hides a swing)."""
        if not self.sent_at:
            return []
        start = min(self.sent_at.values())
        windows: list[list[str]] = []
        for submission_id, sent in self.sent_at.items():
            index = int((sent - start) // seconds)
            windows.extend([] for _ in range(index + 1 - len(windows)))
            windows[index].append(submission_id)
        return [self.total_s(ids) for ids in windows]

    def outcome_s(self) -> list[float]:
        """Every planned return's time to its decision, one never sent or never decided counted as
        infinitely late: a round that lost returns cannot show a better figure than one that lost none."""
        undecided = max(self.planned, len(self.sent_at)) - len(self.decided_at)
        return self.total_s() + [math.inf] * undecided

    @property
    def p99_ms(self) -> float:
        return percentile_ms(self.outcome_s(), 0.99)

    def tenths_s(self) -> tuple[list[float], list[float]]:
        """The first and the last tenth of the returns sent: a queue that builds up shows as a rise."""
        ids = list(self.sent_at)
        tenth = max(1, len(ids) // 10)
        return self.total_s(ids[:tenth]), self.total_s(ids[-tenth:])


def median_round(rounds: Sequence[Latency]) -> Latency:
    """The round whose p99 is the median of the rounds' (of an even number, the higher of the middle two:
    the figure judged against the target is never the flattering one). Returns never decided count as
    infinitely late in each round's p99 (``outcome_s``)."""
    ranked = sorted(rounds, key=lambda r: r.p99_ms)
    return ranked[len(ranked) // 2]


async def tail(bootstrap: KafkaClientOptions, topics: list[str]) -> AIOKafkaConsumer:
    """A consumer of every partition of ``topics``, positioned at their current ends."""
    # A group id, though nothing is committed: aiokafka 0.14's group-less consumer re-raises its own
    # cancellation from stop() (as tests/support/kafka.py found).
    consumer = AIOKafkaConsumer(
        **bootstrap.aiokafka(),
        group_id=f"bench-latency-{uuid.uuid4()}",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,  # an idle fetch answers within 50 ms, a full one at once: little added wait
    )
    await consumer.start()
    try:
        partitions = [tp for topic in topics for tp in await _partitions(bootstrap, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolves the end now, before anything is published
    except BaseException:
        await consumer.stop()
        raise
    return consumer


async def collect(
    consumer: AIOKafkaConsumer, decisions: str, latency: Latency, all_sent: asyncio.Event, grace_s: float
) -> None:
    """Note the arrival of each return's case event and of its first decision, until every return sent has
    a decision, or ``grace_s`` after the last was sent (the sender bounds the time before that)."""
    give_up = math.inf
    while time.perf_counter() < give_up:
        batch = await consumer.getmany(timeout_ms=100, max_records=5000)
        arrived = time.perf_counter()
        for records in batch.values():
            for record in records:
                event = orjson.loads(record.value)
                submission_id = event["submission"]["submission_id"]
                if submission_id not in latency.sent_at:
                    continue
                seen = latency.decided_at if record.topic == decisions else latency.recorded_at
                if submission_id not in seen:
                    seen[submission_id] = arrived
                    if record.topic == decisions:
                        latency.decision_types[event["type"]] += 1
        if all_sent.is_set():
            if len(latency.decided_at) >= len(latency.sent_at):
                return
            give_up = min(give_up, arrived + grace_s)


async def bench_latency(
    endpoints: Endpoints,
    pipeline: Pipeline,
    measured: list[Measured],
    rate: float,
    seconds: float,
    timeout_s: float,
    round_: int = 0,
) -> Latency:
    """Round ``round_`` of the latency run: its own fresh persons and submission ids, so that a round's
    returns are decided, not taken for resends of an earlier round's."""
    bootstrap = endpoints.kafka_admin
    count = max(1, round(rate * seconds))
    tag = f"latency-{round_}"
    cases, returns = window_1_persons(LATENCY_PERSONS + round_ * LATENCY_ROUND_PERSONS, count, tag)
    async with httpx2.AsyncClient(base_url=pipeline.statistics.process.url, timeout=30) as http:
        known = await summary_of(http)
        await publish(cases, kafka=bootstrap, topic=pipeline.intake.upstream, speed=None)
        # The statistics count the cases once intake has published them; eligibility has then to apply
        # them before it can decide their returns at once.
        await eventually(lambda: progress(http, pipeline), shows(known["cases_opened"] + count, 0), timeout_s)
    await pipeline.eligibility.settled(timeout_s)
    await pipeline.statistics.caught_up(timeout_s)

    decisions = pipeline.eligibility.decisions
    consumer = await tail(bootstrap, [pipeline.intake.cases, decisions])
    # Each return sent on its own as an upstream system would, acknowledged by all, with the producer's
    # linger of Kafka 4's clients (5 ms, KIP-1030): the time from hand-off counts it. Without it this
    # process sent a request per return, a sixth of the machine's CPU, which upstream systems do not
    # spend on the services' machine.
    producer = AIOKafkaProducer(**bootstrap.aiokafka(), acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    latency = Latency(rate, planned=len(returns))
    # Events carry a submission_id as intake records it, a keyed digest: each return's, known in advance.
    recorded_ids = [recorded_submission_id(return_id(tag, i)) for i in range(len(returns))]
    all_sent = asyncio.Event()
    collector = asyncio.create_task(collect(consumer, decisions, latency, all_sent, GRACE_S))
    try:
        futures = []
        measured_before, machine_before = sum(m.cpu_s() for m in measured), busy_cpu_s()
        bench_before = time.process_time()
        started = time.perf_counter()
        deadline = started + seconds * 3 + 10  # a bound: the loop ends even if sending falls far behind
        for i, message in enumerate(returns):
            due = started + i / rate
            if due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())  # wakes every ~1 ms: a steady rate
            if time.perf_counter() > deadline:
                break
            latency.sent_at[recorded_ids[i]] = time.perf_counter()
            futures.append(await producer.send(pipeline.intake.upstream, message.value, key=message.key))
        latency.send_s = time.perf_counter() - started
        latency.busy_cores = (busy_cpu_s() - machine_before) / latency.send_s
        latency.measured_cores = (sum(m.cpu_s() for m in measured) - measured_before) / latency.send_s
        latency.bench_cores = (time.process_time() - bench_before) / latency.send_s
        await asyncio.gather(*futures)  # every return acknowledged: a failed send raises here
        all_sent.set()
        await collector
    finally:
        collector.cancel()
        await producer.stop()
        await consumer.stop()
    return latency


# --- the report -----------------------------------------------------------------------------------------


def measured_code() -> str:
    """Which commit, and which copy of the services' code, this run measured."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = len(git("status", "--porcelain", "--untracked-files=no").splitlines())
    state = f"dirty: {changed} tracked files changed" if changed else "clean tree"
    spec = importlib.util.find_spec("amnesty_intake")
    origin = Path(spec.origin).parents[4] if spec and spec.origin else "unknown"
    # The services run on this environment's interpreter; how it was built moves every CPU figure (a
    # pyenv build without PGO and LTO took about a fifth more CPU per message than Debian's).
    python = f"Python {platform.python_version()} (`{Path(sys.executable).resolve()}`)"
    return (
        f"commit `{commit}` ({state}; untracked files not counted); services imported from `{origin}`, "
        f"on {python}"
    )


def ms(values: list[float], *qs: float) -> str:
    return " / ".join(_ms_text(percentile_ms(values, q)) for q in qs)


def _ms_text(value: float) -> str:
    # Infinite: a return never decided (``Latency.outcome_s``); NaN: no return at all.
    return "∞" if math.isinf(value) else "—" if math.isnan(value) else f"{value:,.0f}"


def _meets(value: float, target: float, *, at_most: bool = False) -> str:
    if math.isnan(value):
        return "n/a"
    return "yes" if (value <= target if at_most else value >= target) else "**no**"


def table(
    args: argparse.Namespace,
    raw: Raw,
    topology: Topology,
    durable: Topology,
    run: Throughput,
    rounds: Sequence[Latency],
    load: str,
) -> str:
    n = run.submissions
    ratio = run.rate / raw.rate
    latency = median_round(rounds)
    decided = latency.total_s()
    outcomes = latency.outcome_s()
    intake_hop, eligibility_hop = latency.hops_s()
    first, last = latency.tenths_s()
    s = run.summary
    rows = [
        (
            "1. throughput end to end (submissions/s)",
            f"{run.rate:,.0f}",
            f"≥ {TARGET_THROUGHPUT:,.0f}",
            _meets(run.rate, TARGET_THROUGHPUT),
            f"{n:,} submissions ({n // 2:,} CaseOpened + {n // 2:,} VoluntaryReturn, one of each per fresh "
            f"person) published before the services started; ready → summary complete in {run.run_s:.1f} s",
        ),
        (
            "1a. where the time goes (s after ready)",
            " / ".join(f"{run.stages[k]:.1f}" for k in ("intake", "eligibility", "statistics")),
            "",
            "",
            "intake recorded all / eligibility applied all / statistics summary complete",
        ),
        (
            "1b. services start (s)",
            f"{run.start_s:.1f}",
            "",
            "",
            f"launch → all three ready, not in (1); backlog published in {run.publish_s:.1f} s beforehand",
        ),
        (
            "1c. what the summary shows",
            f"{s['cases_opened']:,} / {s['voluntary_returns']:,} / {s['amnesties_granted']:,}",
            "",
            "",
            f"cases / returns / grants; {run.decisions:,} decisions on the topic; now pending "
            f"{s['pending']}, revoked {s['revoked']}, denied {s['amnesties_denied']}",
        ),
        (
            "2. raw Kafka ceiling (messages/s)",
            f"{raw.rate:,.0f}",
            "",
            "",
            f"same {raw.messages:,} messages, fresh topic: produce (acks=all, idempotent) "
            f"{raw.messages / raw.produce_s:,.0f}/s in {raw.produce_s:.1f} s, then one consumer "
            f"{raw.messages / raw.consume_s:,.0f}/s in {raw.consume_s:.1f} s",
        ),
        ("2a. ratio (1) / (2)", f"{ratio:.3f}", f"≥ {TARGET_RATIO}", _meets(ratio, TARGET_RATIO), ""),
        *topology_rows(run, topology, durable),
        (
            f"3. return → decision p50 / p95 / p99 (ms), the median of {len(rounds)} rounds",
            ms(outcomes, 0.50, 0.95, 0.99),
            f"p99 ≤ {TARGET_P99_MS:.0f}",
            _meets(latency.p99_ms, TARGET_P99_MS, at_most=True),
            f"the round of the median p99 (3a-3d describe it): {len(decided):,} of "
            f"{latency.planned:,} returns decided within {GRACE_S:.0f} s of the last send, any other "
            "counted as infinitely late "
            f"({', '.join(f'{k} {v:,}' for k, v in sorted(latency.decision_types.items()))}); "
            "from handing it to the producer to the decision's arrival",
        ),
        (
            "3a. returns published (per second)",
            f"{latency.rate:,.0f}",
            f"{latency.asked_rate:,.0f}",
            _meets(latency.rate, latency.asked_rate * 0.98),
            f"{len(latency.sent_at):,} returns over {latency.send_s:.1f} s, after their cases were applied;"
            f" meanwhile the machine was busy {latency.busy_cores:.2f} cores, this run's processes "
            f"{latency.measured_cores:.2f}, of which this script {latency.bench_cores:.2f}",
        ),
        (
            "3b. of which publish → case event, case event → decision: p50 / p99 (ms)",
            f"{ms(intake_hop, 0.50, 0.99)}, {ms(eligibility_hop, 0.50, 0.99)}",
            "",
            "",
            "intake (with its outbox relay); eligibility (with its relay): arrivals on the cases topic",
        ),
        (
            "3c. p50 of the first tenth, of the last tenth sent (ms)",
            f"{ms(first, 0.50)}, {ms(last, 0.50)}",
            "",
            "",
            "a rise means the pipeline falls behind the rate",
        ),
        (
            f"3d. p99 of each {LATENCY_WINDOW_S:.0f} s of sending (ms)",
            # A window of no decided return has no p99: a dash, not "nan" (``ms``).
            ", ".join(ms(window, 0.99) for window in latency.windows_s(LATENCY_WINDOW_S)),
            "",
            "",
            "by when each return was sent; near saturation p99 swings within a run and between runs",
        ),
        (
            "3e. p99 of each round, in the order run (ms)",
            ", ".join(ms(r.outcome_s(), 0.99) for r in rounds),
            "",
            "",
            "each round fresh persons: their cases applied, then their returns at the rate; the machine "
            f"busy {', '.join(f'{r.busy_cores:.2f}' for r in rounds)} cores while each sent",
        ),
    ]
    for name, cpu in run.cpu_s.items():
        note = f"{cpu:.1f} CPU s, {cpu / (run.start_s + run.run_s):.2f} cores over launch → complete"
        if name in run.startup_cpu_s:
            note += f"; of which {run.startup_cpu_s[name]:.1f} s before ready (start-up)"
        rows.append((f"4. CPU ms per submission: {name}", f"{cpu * 1000 / n:.3f}", "", "", note))
    rows.append(
        (
            "4. CPU ms per submission: postgresql backends of the three services",
            f"{run.services_backends_cpu_s * 1000 / n:.3f}",
            "",
            "",
            f"part of the server's row: its {run.services_backends} backends serving the services' "
            "connections (the rest served other clients and the server's own processes)",
        )
    )
    total = sum(run.cpu_s.values())
    rows.append(
        ("4. CPU ms per submission: all", f"{total * 1000 / n:.3f}", "", "", "the machine's busy time")
    )
    for name, rss in run.rss.items():
        mb = rss / 1e6
        rows.append(
            (
                f"4a. peak RSS: {name} (MB)",
                f"{mb:,.0f}",
                f"≤ {TARGET_RSS_MB:.0f}",
                _meets(mb, TARGET_RSS_MB, at_most=True),
                "polled every 0.25 s during (1)",
            )
        )
    lines = [
        "# End to end: intake → eligibility → statistics",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at {measured_code()}.",
        f"{psutil.cpu_count()} cores; load average before the run {load}. Services' batches of "
        f"{args.batch_max_records} records; topics of the test support's partitions.",
        "",
        "| measurement | value | target | meets | run |",
        "| --- | ---: | --- | --- | --- |",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]
    if run.statements is not None:
        lines += ["", *statements_table(run.statements)]
    return "\n".join(lines) + "\n"


def topology_rows(run: Throughput, kafka_only: Topology, durable: Topology) -> list[tuple[str, ...]]:
    """(2b)-(2e): the pipeline's topology with nothing in it, then with its PostgreSQL rows written."""

    def cpu(topology: Topology) -> str:
        n = topology.submissions
        others = "".join(
            f", {name.split(' (')[0]} {seconds * 1000 / n:.3f}"
            for name, seconds in topology.others_cpu_s.items()
        )
        return f"CPU ms per submission from go: forwarders {topology.forwarders_cpu_s * 1000 / n:.3f}{others}"

    return [
        (
            "2b. raw ceiling of the pipeline's topology (submissions/s)",
            f"{kafka_only.rate:,.0f}",
            "",
            "",
            f"same {kafka_only.submissions:,} messages through three processes that only forward them "
            "(upstream → cases → decisions, one decision per return, read by a third), consuming as the "
            "services and publishing as their relays do, one step at a time; all three holding their "
            f"partitions → last read in {kafka_only.run_s:.1f} s; {cpu(kafka_only)}",
        ),
        ("2c. ratio (1) / (2b)", f"{run.rate / kafka_only.rate:.3f}", "", "", ""),
        (
            "2d. the same, durable (submissions/s)",
            f"{durable.rate:,.0f}",
            "",
            "",
            "each forwarder records each batch first in one transaction with set-based SQL, rows of the "
            "services' kinds (submission log; events, facts and outbox; person streams read; person "
            "states, daily counts and totals; checkpoints), then reads, publishes and deletes its outbox "
            "rows as a relay; no validation, pseudonyms, signatures or rules; last read after "
            f"{durable.run_s:.1f} s; {cpu(durable)}",
        ),
        ("2e. ratio (1) / (2d)", f"{run.rate / durable.rate:.3f}", "", "", ""),
    ]


def write_report(report: str) -> str:
    OUT.mkdir(exist_ok=True)
    REPORT.write_text(report)
    return str(REPORT)


@dataclass(frozen=True)
class CpuFigures:
    """Section (4) of one e2e.md: where and how it was measured, and per process its CPU ms per
    submission, with start-up and without (services only: the others have no start-up of their own)."""

    measured: str
    submissions: int
    per_submission: dict[str, tuple[float, float | None]]


_MEASURED = re.compile(r"^Measured (.*)\.$", re.MULTILINE)
_SUBMISSIONS = re.compile(
    r"^\| 1\. throughput [^|]*\|[^|]*\|[^|]*\|[^|]*\| ([\d,]+) submissions", re.MULTILINE
)
_CPU_ROW = re.compile(
    r"^\| 4\. CPU ms per submission: ([^|]+) \| ([\d.]+) \|[^|]*\|[^|]*\| ([^|]*)\|$", re.MULTILINE
)
_STARTUP = re.compile(r"([\d.]+) CPU s.* of which ([\d.]+) s before ready")


def cpu_figures(report: str) -> CpuFigures:
    """Read (4) back from a report this script wrote."""
    measured = _MEASURED.search(report)
    submissions = _SUBMISSIONS.search(report)
    if measured is None or submissions is None:
        raise ValueError("not a report of bench_e2e: no 'Measured' line or throughput row")
    n = int(submissions.group(1).replace(",", ""))
    rows = {}
    for name, per_submission, note in _CPU_ROW.findall(report):
        startup = _STARTUP.search(note)
        without = (float(startup.group(1)) - float(startup.group(2))) * 1000 / n if startup else None
        rows[name] = (float(per_submission), without)
    return CpuFigures(measured.group(1), n, rows)


def cpu_comparison(before: CpuFigures, after: CpuFigures) -> str:
    """(4) before and after, per process: the table a change to the pipeline's CPU cost is judged by."""

    def change(old: float | None, new: float | None) -> str:
        return f"{(new - old) / old:+.0%}" if old and new is not None else ""

    def cell(value: float | None) -> str:
        return "" if value is None else f"{value:.3f}"

    lines = [
        "# End to end: CPU ms per submission, before and after",
        "",
        f"Before: {before.submissions:,} submissions, measured {before.measured}.",
        f"After: {after.submissions:,} submissions, measured {after.measured}.",
        "Start-up excluded: the services' CPU before they were ready, taken out. The PostgreSQL server and",
        "the Kafka broker serve every client on the machine: on a shared machine their rows include others'.",
        "",
        "| process | before | after | change | before, start-up excluded | after, start-up excluded "
        "| change |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in [*after.per_submission, *(n for n in before.per_submission if n not in after.per_submission)]:
        old, old_running = before.per_submission.get(name, (None, None))
        new, new_running = after.per_submission.get(name, (None, None))
        lines.append(
            f"| {name} | {cell(old)} | {cell(new)} | {change(old, new)} | {cell(old_running)} | "
            f"{cell(new_running)} | {change(old_running, new_running)} |"
        )
    return "\n".join(lines) + "\n"


def tune(pipeline: Pipeline) -> None:
    """Production settings rather than the tests' chatty ones."""
    pipeline.intake.process.env["AMNESTY_INTAKE_LOG_LEVEL"] = "INFO"
    for name in STATISTICS_TEST_TUNING:
        pipeline.statistics.env.pop(f"AMNESTY_STATISTICS_{name}", None)


def fresh_logs(name: str) -> Path:
    """An empty folder under bench-results/ for a run's service logs (a service appends to its log)."""
    logs = OUT / name
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("*.log"):
        old.unlink()
    return logs


@dataclass(frozen=True)
class BenchStack:
    endpoints: Endpoints
    pool: Pool  # the admin's
    logs: Path  # the run's service logs
    load: str  # the load average before the run


@asynccontextmanager
async def bench_stack(logs: str) -> AsyncIterator[BenchStack]:
    """The local stack up (or DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS), an admin pool, a fresh folder for
    the services' logs under bench-results/, and the load average before anything ran."""
    stack = Stack(InfraSettings())
    await stack.up()
    folder = fresh_logs(logs)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    pool = await create_pool(stack.endpoints.admin_database_url, min_size=2, max_size=8)
    try:
        yield BenchStack(stack.endpoints, pool, folder, load)
    finally:
        await pool.close()


@asynccontextmanager
async def production_pipeline(bench: BenchStack, batch_max_records: int) -> AsyncIterator[Pipeline]:
    """The three services under test (not started) with production settings (``tune``)."""
    async with pipeline_under_test(
        bench.endpoints, bench.pool, bench.logs, batch_max_records=batch_max_records
    ) as pipeline:
        tune(pipeline)
        yield pipeline


async def main(args: argparse.Namespace) -> None:
    cases, returns = window_1_persons(THROUGHPUT_PERSONS, args.submissions // 2, "throughput")
    # All cases first, then all returns: on the upstream topic each person's case comes before the return,
    # though not on the same partition (upstream keys are record ids, not persons).
    messages = cases + returns
    async with bench_stack("e2e-logs") as bench:
        endpoints, pool = bench.endpoints, bench.pool
        # A broker just started compiles its hot paths during its first heavy seconds (JIT): a first pass
        # it is not timed on, or the ceilings come out low and the ratios to them flattering.
        await bench_raw(endpoints, messages)
        raw = await bench_raw(endpoints, messages)
        topology, durable = [
            await bench_topology(
                endpoints.kafka_admin,
                messages,
                infrastructure(endpoints),
                batch_records=args.batch_max_records,
                timeout_s=args.timeout,
                database_url=database,
            )
            for database in (None, endpoints.admin_database_url)  # bare, then durable
        ]
        # Its dirty pages written now, not by a checkpoint that (1) would be charged for.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await pool.execute("CHECKPOINT")
        async with production_pipeline(bench, args.batch_max_records) as pipeline:
            run = await bench_throughput(endpoints, pool, pipeline, messages, args.timeout)
            rounds = [
                await bench_latency(
                    endpoints,
                    pipeline,
                    run.measured,
                    args.latency_rate,
                    args.latency_seconds,
                    args.timeout,
                    round_,
                )
                for round_ in range(args.latency_rounds)
            ]
    report = table(args, raw, topology, durable, run, rounds, bench.load)
    print(report)
    print(json.dumps({"written": write_report(report)}))
    if args.cpu_before is not None:
        comparison = cpu_comparison(cpu_figures(args.cpu_before.read_text()), cpu_figures(report))
        CPU_COMPARISON.write_text(comparison)
        print(comparison)
        print(json.dumps({"written": str(CPU_COMPARISON)}))


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_e2e", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--submissions", type=int, default=100_000, help="throughput run: cases + returns")
    parser.add_argument("--latency-rate", type=float, default=1_000.0, help="returns per second")
    parser.add_argument(
        "--latency-seconds", type=float, default=20.0, help="how long returns are sent, each round"
    )
    parser.add_argument(
        "--latency-rounds", type=int, default=3, help="latency rounds, judged on the median round's p99"
    )
    parser.add_argument(
        "--batch-max-records", type=int, default=500, help="each service's batch size (the services' default)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="the most any one wait may take (s)")
    parser.add_argument(
        "--cpu-before",
        type=Path,
        help="an e2e.md of an earlier run: also write e2e-cpu.md, its CPU per process beside this run's",
    )
    args = parser.parse_args()
    if args.submissions < 2 or args.latency_rate <= 0 or args.latency_seconds <= 0 or args.latency_rounds < 1:
        parser.error("sizes must be positive (and at least one person: --submissions 2)")
    # Each round's persons fresh: no round reaches into the next one's, nor into the throughput run's.
    if round(args.latency_rate * args.latency_seconds) > LATENCY_ROUND_PERSONS:
        parser.error(f"a latency round may send at most {LATENCY_ROUND_PERSONS:,} returns")
    if args.latency_rounds * LATENCY_ROUND_PERSONS > THROUGHPUT_PERSONS - LATENCY_PERSONS:
        parser.error(
            f"at most {(THROUGHPUT_PERSONS - LATENCY_PERSONS) // LATENCY_ROUND_PERSONS} latency rounds"
        )
    return args


if __name__ == "__main__":
    asyncio.run(main(arguments()))
