"""The three services under load while their infrastructure fails: the broker and PostgreSQL killed
(SIGKILL) and restarted, a service cut off from Kafka and one from PostgreSQL for 30 s, batches whose
transaction fails mid-way on a lock timeout, a batch statement cancelled by its statement timeout,
PostgreSQL's disk full (where a tmpfs can be mounted). After each: nothing lost, nothing twice (by id),
nothing stuck (outboxes drained, consumers caught up, every service ready), and the figures exact.

The module runs its own Kafka and PostgreSQL (``isolated_stack``): these tests kill them. One system
serves all the tests, each adding its own load, so each check covers everything sent so far. Run with
``-s`` for the table of figures.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx2
import pytest

from amnesty_contracts import Rejection, parse_decision_event
from amnesty_eventstore import Pool, create_pool
from amnesty_eventstore.outbox_relay import EVENT_ID_HEADER
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.stack.signing_keys import service_key_environment
from tests.support.intake import recorded_submission_id
from tests.support.isolated_stack import IsolatedStack, isolated_stack
from tests.support.kafka import read_all
from tests.support.pipeline import Pipeline, pipeline_under_test
from tests.support.returns_load import ReturnsLoad, Tally, publish
from tests.support.tcp_proxy import TcpProxy, tcp_proxy
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

PERSONS = 2000
"""Persons per test (two submissions each)."""
CUT_S = 30.0
LOCK_HELD_S = 8.0
STATEMENT_TIMEOUT_DEADLINE_S = 120.0
"""How long the test holds its lock at most, waiting for eligibility's statement to time out (30 s)."""
PG_DISK_BYTES = 2 * 1024**3
"""PostgreSQL's small disk: room for the module's load and its WAL (tmpfs takes memory only as used)."""
DISK_FULL_DEADLINE_S = 120.0
BATCH = 100
"""The services' batch_max_records (pipeline_under_test's default)."""
RECOVERY_DEADLINE_S = 240.0
"""Generous: the machine's two cores are shared; a miss fails with what was last seen."""


@dataclass(frozen=True)
class Row:
    fault: str
    submissions: int
    total: int
    faults: int
    recovery_s: float
    lost: int
    duplicated: int


@dataclass
class FaultedSystem:
    isolated: IsolatedStack
    admin: Pool
    pipeline: Pipeline
    kafka_proxy: TcpProxy
    """Between intake and the broker."""
    pg_proxy: TcpProxy
    """Between eligibility and PostgreSQL."""
    logs: Path
    load: ReturnsLoad = field(default_factory=ReturnsLoad)
    rows: list[Row] = field(default_factory=list)

    @property
    def kafka(self) -> KafkaClientOptions:
        """The test's own Kafka login (the stack's admin: the pipeline's topics are test.* ones)."""
        return self.isolated.endpoints.kafka_admin

    async def send(self, persons: int) -> int:
        batch = self.load.next_batch(persons)
        await publish(self.kafka, self.pipeline.intake.upstream, batch)
        return len(batch)

    async def recorded(self) -> int:
        return int(await self.admin.fetchval("SELECT count(*) FROM intake.submission_log"))

    async def until_recorded(self, n: int) -> None:
        await eventually(self.recorded, lambda seen: seen >= n, RECOVERY_DEADLINE_S)

    async def load_under_way(self, persons: int) -> tuple[int, int]:
        """Send ``persons``' submissions and wait until a third of them are recorded, so that a fault
        injected next meets work in flight; (recorded before, sent)."""
        before = await self.recorded()
        sent = await self.send(persons)
        await self.until_recorded(before + sent // 3)
        return before, sent


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0] + f":{port}"))


def _as_deployed(system: FaultedSystem) -> None:
    """Each service logs in as its own role into its own schema (as `amnesty demo` runs them), intake
    reaches the broker through its proxy and eligibility PostgreSQL through its proxy. On Kafka every
    service logs in as the stack's admin: their topics are the fixtures' test.* ones, which no service
    principal's ACLs cover (the proxied listener checks the same SCRAM users and ACLs as the other)."""
    endpoints = system.isolated.endpoints
    intake, eligibility, statistics = (
        system.pipeline.intake,
        system.pipeline.eligibility,
        system.pipeline.statistics,
    )
    intake.process.env |= {
        "AMNESTY_INTAKE_DATABASE_URL": endpoints.database_url("intake"),
        "AMNESTY_INTAKE_SCHEMA_NAME": "intake",
        "AMNESTY_INTAKE_LOG_LEVEL": "INFO",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{system.kafka_proxy.port}",
    }
    eligibility.process.env |= {
        "AMNESTY_ELIGIBILITY_DATABASE_URL": _via(endpoints.database_url("eligibility"), system.pg_proxy.port),
        "AMNESTY_ELIGIBILITY_SCHEMA_NAME": "eligibility",
    }
    statistics.process.env |= {
        "AMNESTY_STATISTICS_DATABASE_URL": endpoints.database_url("statistics"),
        "AMNESTY_STATISTICS_SCHEMA_NAME": "statistics",
    }
    # Signing and verifying keys from this stack's own secrets, as `amnesty demo` gives them.
    secrets = system.isolated.stack.settings.local / "secrets"
    for service, under_test in (("intake", intake), ("eligibility", eligibility), ("statistics", statistics)):
        under_test.process.env |= service_key_environment(service, secrets)
    intake.schema, eligibility.schema, statistics.schema = "intake", "eligibility", "statistics"


@pytest.fixture(scope="module")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FaultedSystem]:
    logs = tmp_path_factory.mktemp("faults")
    async with isolated_stack(pg_disk_bytes=PG_DISK_BYTES) as isolated:
        endpoints = isolated.endpoints
        admin = await create_pool(endpoints.admin_database_url, min_size=1, max_size=5)
        # A batch that waits on a lock gives up after 1 s (the transaction fails mid-way), as a DBA's
        # lock_timeout on the role would make it; see test_batches_failing_on_a_lock_mid_way_come_again.
        await admin.execute("ALTER ROLE intake SET lock_timeout = '1s'")
        try:
            async with (
                tcp_proxy(isolated.kafka_proxied_port, isolated.kafka_proxy_port) as kafka_proxy,
                tcp_proxy(isolated.stack.settings.pg_port) as pg_proxy,
                pipeline_under_test(endpoints, admin, logs) as pipeline,
            ):
                faulted = FaultedSystem(isolated, admin, pipeline, kafka_proxy, pg_proxy, logs)
                _as_deployed(faulted)
                await pipeline.start()
                yield faulted
                _print_figures(faulted.rows)
        finally:
            await admin.close()


def _print_figures(rows: list[Row]) -> None:
    print("\n| fault | submissions | sent so far | faults injected | recovered in (s) | lost | duplicated |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r.fault} | {r.submissions} | {r.total} | {r.faults} | {r.recovery_s:.1f} "
            f"| {r.lost} | {r.duplicated} |"
        )


async def _status(url: str, path: str) -> int:
    async with httpx2.AsyncClient(base_url=url, timeout=5) as http:
        try:
            return (await http.get(path)).status_code
        except httpx2.TransportError:
            return 0


async def _readiness_while_cut(url: str) -> Counter[int]:
    """/readyz's answers, once a second, for the length of a cut (the fault's length, not a wait for an
    outcome)."""
    answers: Counter[int] = Counter()
    deadline = time.monotonic() + CUT_S
    while time.monotonic() < deadline:
        answers[await _status(url, "/readyz")] += 1
        await asyncio.sleep(1)
    return answers


async def _lag_lines(url: str) -> list[str]:
    async with httpx2.AsyncClient(base_url=url, timeout=5) as http:
        text = (await http.get("/metrics")).text
    return [line for line in text.splitlines() if line.startswith("amnesty_consumer_lag_messages{")]


async def _accepting_connections(admin: Pool) -> None:
    """Until the server takes connections again: after a crash restart it refuses them while it
    replays its WAL ("the database system is in recovery mode")."""

    async def answers() -> bool:
        try:
            return bool(await admin.fetchval("SELECT true"))
        except (asyncpg.CannotConnectNowError, asyncpg.PostgresConnectionError, OSError):
            return False

    await eventually(answers, bool, RECOVERY_DEADLINE_S)


async def _settled(system: FaultedSystem) -> None:
    """Nothing stuck: each service has applied its topics to their ends and drained its outbox, in the
    pipeline's order; every service answers /readyz and reports no consumer lag."""
    intake, eligibility, statistics = (
        system.pipeline.intake,
        system.pipeline.eligibility,
        system.pipeline.statistics,
    )
    await intake.consumed_everything(RECOVERY_DEADLINE_S)

    async def intake_outbox() -> int:
        return int(await system.admin.fetchval("SELECT count(*) FROM intake.outbox"))

    await eventually(intake_outbox, lambda n: n == 0, RECOVERY_DEADLINE_S)
    await eligibility.settled(RECOVERY_DEADLINE_S)
    await statistics.caught_up(RECOVERY_DEADLINE_S)
    urls = [s.process.url for s in (intake, eligibility, statistics)]

    async def readiness() -> list[int]:
        return [await _status(url, "/readyz") for url in urls]

    await eventually(readiness, lambda codes: codes == [200, 200, 200], RECOVERY_DEADLINE_S)

    async def lag() -> list[str]:
        return [line for url in urls for line in await _lag_lines(url)]

    await eventually(lag, lambda lines: all(float(line.split()[-1]) == 0 for line in lines), 60)


async def _tallies(system: FaultedSystem) -> dict[str, Tally]:
    """Each stage's output against the load, by submission key."""
    load, intake, eligibility = system.load, system.pipeline.intake, system.pipeline.eligibility
    logged = Counter(
        (r["source"], r["submission_id"])
        for r in await system.admin.fetch("SELECT source, submission_id FROM intake.submission_log")
    )
    # Events carry a submission_id as intake records it, a keyed digest: back to the load's own keys.
    sent_as = {(source, recorded_submission_id(sid)): (source, sid) for source, sid in load.keys}

    def sent_key(source: str, recorded: str) -> tuple[str, str]:
        return sent_as.get((source, recorded), (source, recorded))

    # On the cases topic a relay may re-send an event (the same event id): one event per submission.
    events_of: dict[tuple[str, str], set[str]] = {}
    for record in await read_all(system.kafka, intake.cases):
        case = json.loads(record.value or b"")
        key = sent_key(case["submission"]["source"], case["submission"]["submission_id"])
        events_of.setdefault(key, set()).add(case["event_id"])
    cases = Counter({key: len(ids) for key, ids in events_of.items()})

    stored = await eligibility.stored_decisions()
    decided = Counter(sent_key(d.submission.source, d.submission.submission_id) for d in stored)
    wrong = {
        sent_key(d.submission.source, d.submission.submission_id): _outcome(d.model_dump(mode="json"))
        for d in stored
        if _outcome(d.model_dump(mode="json"))
        != load.decision_of.get(sent_key(d.submission.source, d.submission.submission_id))
    }
    assert not wrong, f"decisions other than expected: {sorted(wrong.items())[:5]}"
    published: set[str] = set()
    for record in await read_all(system.kafka, eligibility.decisions):
        event = parse_decision_event(record.value or b"")
        assert not isinstance(event, Rejection), event
        published.add(dict(record.headers)[EVENT_ID_HEADER].decode())
    assert published == {str(d.event_id) for d in stored}, "the decisions topic carries what was decided"
    return {
        "submission log": Tally.of(load.keys, logged),
        "cases topic": Tally.of(load.keys, cases),
        "decisions": Tally.of(set(load.decision_of), decided),
    }


def _outcome(decision: dict[str, Any]) -> str:
    data = decision["data"]
    return f"{decision['type']}:{data.get('regime') or data.get('reason')}"


async def _summary(system: FaultedSystem) -> dict[str, Any]:
    async with httpx2.AsyncClient(base_url=system.pipeline.statistics.process.url, timeout=10) as http:
        answer: dict[str, Any] = (await http.get("/v1/stats/summary")).json()
    return answer


async def _recovered(system: FaultedSystem, fault: str, submissions: int, faults: int, since: float) -> None:
    """Wait until nothing is stuck, record the figures, then hold the system to them."""
    await _settled(system)
    recovery_s = time.monotonic() - since
    tallies = await _tallies(system)
    system.rows.append(
        Row(
            fault,
            submissions,
            len(system.load.sent),
            faults,
            recovery_s,
            sum(len(t.lost) for t in tallies.values()),
            sum(len(t.duplicated) for t in tallies.values()),
        )
    )
    assert all(t.exact for t in tallies.values()), {stage: str(t) for stage, t in tallies.items()}
    assert await _summary(system) == system.load.expected_summary()


async def test_the_broker_killed_and_restarted_mid_load_loses_and_repeats_nothing(
    system: FaultedSystem,
) -> None:
    before, sent = await system.load_under_way(PERSONS)
    at_kill = await system.recorded()
    system.isolated.kill_kafka()
    await system.isolated.start_kafka()
    restarted = time.monotonic()
    assert at_kill < before + sent, "killed before intake had recorded everything"
    await _recovered(system, "Kafka broker SIGKILLed, restarted", sent, 1, restarted)


async def test_postgres_killed_and_restarted_mid_load_loses_and_repeats_nothing(
    system: FaultedSystem,
) -> None:
    before, sent = await system.load_under_way(PERSONS)
    at_kill = await system.recorded()
    system.isolated.kill_postgres()
    await system.isolated.start_postgres()
    restarted = time.monotonic()
    await system.admin.expire_connections()  # the test's own connections died with the server
    assert at_kill < before + sent, "killed before intake had recorded everything"
    await _recovered(system, "PostgreSQL postmaster SIGKILLed, restarted", sent, 1, restarted)


async def test_intake_cut_off_from_kafka_for_30_s_catches_up_exactly(system: FaultedSystem) -> None:
    before, sent = await system.load_under_way(PERSONS // 2)
    system.kafka_proxy.cut()
    sent += await system.send(PERSONS // 2)  # the rest while the fault lasts: it meets work to do
    readiness = await _readiness_while_cut(system.pipeline.intake.process.url)
    cut_progress = await system.recorded()
    system.kafka_proxy.heal()
    healed = time.monotonic()
    assert cut_progress < before + sent, "cut off before intake had recorded everything"
    assert readiness[503] > 0, f"intake says it is not ready while cut off from Kafka: {readiness}"
    await _recovered(system, "intake cut off from Kafka 30 s", sent, system.kafka_proxy.cuts, healed)


async def test_eligibility_cut_off_from_postgres_for_30_s_catches_up_exactly(
    system: FaultedSystem,
) -> None:
    _, sent = await system.load_under_way(PERSONS // 2)
    eligibility = system.pipeline.eligibility
    system.pg_proxy.cut()
    applied_at_cut = await _applied(system.admin, "eligibility")
    sent += await system.send(PERSONS // 2)  # the rest while the fault lasts: it meets work to do
    readiness = await _readiness_while_cut(eligibility.process.url)
    applied_at_heal = await _applied(system.admin, "eligibility")
    system.pg_proxy.heal()
    healed = time.monotonic()
    # One batch may have been committing as the cut began; nothing after it.
    assert applied_at_heal - applied_at_cut <= BATCH, "eligibility applies nothing without its database"
    # Two case events per person (re-sends by a relay come on top).
    assert applied_at_heal < 2 * system.load.persons, "cut off before eligibility had applied everything"
    assert readiness[503] > 0, f"eligibility says it is not ready while cut off: {readiness}"
    await _recovered(system, "eligibility cut off from PostgreSQL 30 s", sent, system.pg_proxy.cuts, healed)


async def _applied(admin: Pool, schema: str) -> int:
    return int(
        await admin.fetchval(f'SELECT coalesce(sum(next_offset), 0) FROM "{schema}".consumer_checkpoints')
    )


def _failed_batches(log: Path) -> int:
    return log.read_text(errors="replace").count("batch failed")


async def test_batches_failing_on_a_lock_mid_way_come_again_exactly_once(system: FaultedSystem) -> None:
    log = system.logs / "intake.log"
    failed_before = _failed_batches(log)
    _, sent = await system.load_under_way(PERSONS // 2)
    # Intake's batch locks its checkpoints and logs the submissions, then waits for the events table,
    # until its role's lock_timeout ends the transaction: the batch fails mid-way, again and again.
    async with system.admin.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE intake.events IN SHARE MODE")
        sent += await system.send(PERSONS // 2)  # the rest while the fault lasts: it meets work to do
        await asyncio.sleep(LOCK_HELD_S)
    released = time.monotonic()
    failed = _failed_batches(log) - failed_before
    assert failed > 0, "the lock made intake's batches fail"
    await _recovered(
        system, f"intake's batches time out on a lock ({LOCK_HELD_S:.0f} s)", sent, failed, released
    )


def _statement_timeouts(log: Path) -> int:
    # PostgreSQL's own words for a statement its statement_timeout cancelled (asyncpg QueryCanceledError).
    return log.read_text(errors="replace").count("canceling statement due to statement timeout")


async def test_a_batch_statement_cancelled_by_its_statement_timeout_comes_again_exactly_once(
    system: FaultedSystem,
) -> None:
    """A true statement timeout mid-batch, under the services' own setting (their pools' 30 s).

    The test holds a SHARE lock on eligibility's events table: the batch in flight has read its persons
    and written its checkpoints, then its events INSERT waits on the lock until PostgreSQL cancels it
    for running past statement_timeout; the whole transaction rolls back and the batch comes again.
    The lock is held until eligibility has logged such a cancellation, so the fault is sure to have
    happened whatever the machine's speed."""
    log = system.logs / "eligibility.log"
    timeouts_before = _statement_timeouts(log)
    _, sent = await system.load_under_way(PERSONS // 2)
    applied_at_lock = await _applied(system.admin, "eligibility")
    # A connection of the test's own: the admin pool's sessions end a transaction idle for 60 s.
    holder = await asyncpg.connect(
        system.isolated.endpoints.admin_database_url,
        server_settings={"idle_in_transaction_session_timeout": "0", "statement_timeout": "0"},
    )
    try:
        async with holder.transaction():
            await holder.execute("LOCK TABLE eligibility.events IN SHARE MODE")
            sent += await system.send(PERSONS // 2)  # the rest while the fault lasts: it meets work to do

            async def timeouts() -> int:
                return _statement_timeouts(log) - timeouts_before

            await eventually(timeouts, lambda n: n > 0, STATEMENT_TIMEOUT_DEADLINE_S)
            applied_while_locked = await _applied(system.admin, "eligibility")
    finally:
        await holder.close()
    released = time.monotonic()
    # At most the batch that was committing as the lock was taken; nothing while it was held.
    assert applied_while_locked - applied_at_lock <= BATCH, "no batch commits past the lock"
    assert applied_while_locked < 2 * system.load.persons, "locked before eligibility had applied everything"
    await _recovered(
        system,
        "eligibility's batch statement cancelled by statement_timeout (30 s)",
        sent,
        _statement_timeouts(log) - timeouts_before,
        released,
    )


def _disk_full_errors(logs: list[Path]) -> int:
    # PostgreSQL's words for a write the disk refused (e.g. 'could not extend file ...: No space left on
    # device'), as the services log their failed batches.
    return sum(log.read_text(errors="replace").count("No space left on device") for log in logs)


async def test_postgres_disk_full_mid_load_loses_and_repeats_nothing(system: FaultedSystem) -> None:
    """PostgreSQL's disk (a small tmpfs of the test's own) filled to the last byte mid-load, until the
    services' batches fail on it (or the server stops), then emptied; a server that stopped is started
    again, as an operator would once space is back."""
    disk = system.isolated.pg_disk
    if isinstance(disk, str):
        pytest.skip(f"no small disk for PostgreSQL: {disk}")
    logs = [system.logs / f"{service}.log" for service in ("intake", "eligibility", "statistics")]
    errors_before = _disk_full_errors(logs)
    before, sent = await system.load_under_way(PERSONS // 2)
    disk.fill()
    try:
        at_full = await system.recorded()
        sent += await system.send(PERSONS // 2)  # the rest while the fault lasts: it meets work to do

        async def refused() -> tuple[int, bool]:
            return _disk_full_errors(logs) - errors_before, system.isolated.postgres_running()

        errors, running = await eventually(
            refused, lambda seen: seen[0] > 0 or not seen[1], DISK_FULL_DEADLINE_S
        )
    finally:
        disk.empty()
    freed = time.monotonic()
    if not system.isolated.postgres_running():
        await system.isolated.start_postgres()
    # A write that fails inside a critical section (the WAL) ends every session with a crash restart,
    # and the server answers nobody until its recovery is done.
    await system.admin.expire_connections()
    await _accepting_connections(system.admin)
    assert at_full < before + sent, "the disk filled before intake had recorded everything"
    fault = "PostgreSQL's disk full" + ("" if running else " (the server stopped; started again)")
    await _recovered(system, fault, sent, errors, freed)


async def test_a_rebuild_from_scratch_equals_the_figures_after_every_fault(system: FaultedSystem) -> None:
    statistics = system.pipeline.statistics
    await _settled(system)
    running = await statistics.daily_stats()
    output = await statistics.rebuild_command()
    assert "replaces version" in output
    assert await statistics.daily_stats() == running
    assert await _summary(system) == system.load.expected_summary()
