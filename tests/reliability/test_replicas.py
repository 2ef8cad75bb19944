"""Three instances of each service, one consumer group per service, under load: instances SIGKILLed and
restarted (within their session: no rebalance) or left dead past it (their partitions move, and move
back when they return). At the end nothing is lost or decided twice, the outboxes are empty, every
checkpoint is at its topic's end, and the read model equals a from-scratch rebuild.

One system for the module (three services x three instances on the test stack), as each start costs.
"""

from __future__ import annotations

import asyncio
import json
import operator
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx2
import pytest
from aiokafka import AIOKafkaProducer

from amnesty_eventstore import Pool
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.stack import Endpoints
from amnesty_runtime.stack.ports import free_port
from tests.support.intake import encoded, recorded_submission_id, submission
from tests.support.kafka import read_all
from tests.support.pipeline import Pipeline, pipeline_under_test
from tests.support.processes import ServiceProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

PERSONS = 6_000
"""Each opens a case and returns: twice as many submissions."""
SESSION_TIMEOUT_S = 60
"""Long enough for a restart within it even when nine services start on two busy cores (they import
for tens of seconds then)."""
DEAD = ("intake-3", "eligibility-1", "statistics-2")
DEAD_SESSION_TIMEOUT_S = 12
"""Those killed and left dead past their session: short, so their partitions move within the test."""
INSTANCES = 3
REGIONS = ("UA-05", "UA-12", "UA-30", "UA-46", "UA-48", "UA-63")
FINAL = {"AmnestyGranted", "AmnestyDenied"}


@dataclass
class Replicated:
    """The pipeline under test and every instance of each service (``[0]`` is the pipeline's own)."""

    pipeline: Pipeline
    instances: dict[str, list[ServiceProcess]]
    logs: Path

    def instance(self, name: str) -> ServiceProcess:
        service, _, number = name.rpartition("-")
        return self.instances[service][int(number) - 1]

    async def restart(self, name: str) -> None:
        process = self.instance(name)
        await process.kill()
        await process.start(ready_timeout_s=90)


@pytest.fixture(scope="module")
async def replicated(
    endpoints: Endpoints, admin_pool: Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Replicated]:
    logs = tmp_path_factory.mktemp("replicas")
    async with pipeline_under_test(endpoints, admin_pool, logs, batch_max_records=250) as pipeline:
        firsts = {
            "intake": pipeline.intake.process,
            "eligibility": pipeline.eligibility.process,
            "statistics": pipeline.statistics.process,
        }
        instances: dict[str, list[ServiceProcess]] = {}
        for service, first in firsts.items():
            prefix = f"AMNESTY_{service.upper()}"
            first.env |= {
                f"{prefix}_SESSION_TIMEOUT_S": str(SESSION_TIMEOUT_S),
                f"{prefix}_LOG_LEVEL": "INFO",
            }
            first.log = logs / f"{service}-1.log"
            instances[service] = [first]
            for n in range(2, INSTANCES + 1):
                port = free_port()
                env = first.env | {f"{prefix}_HTTP_PORT": str(port)}
                instances[service].append(
                    ServiceProcess(first.script, env, logs / f"{service}-{n}.log", port)
                )
            for n, process in enumerate(instances[service], start=1):
                process.env[f"{prefix}_INSTANCE_ID"] = f"{service}-{n}"
                if f"{service}-{n}" in DEAD:
                    process.env[f"{prefix}_SESSION_TIMEOUT_S"] = str(DEAD_SESSION_TIMEOUT_S)
        replicated = Replicated(pipeline, instances, logs)
        try:
            for n in range(INSTANCES):  # three at a time: nine importing at once on two cores time out
                await asyncio.gather(
                    *(processes[n].start(ready_timeout_s=180) for processes in instances.values())
                )
            yield replicated
        finally:
            for processes in instances.values():
                for process in processes[1:]:
                    await process.stop()


def _submissions(first: int, persons: int) -> list[bytes]:
    """Each person's case and return; the returns after the cases of their slice, as upstream would."""
    cases, returns = [], []
    for i in range(first, first + persons):
        person, case_number = f"8{i:09d}", f"1202410{i:010d}"
        cases.append(
            submission(
                submission_id=f"case-{i}",
                person_id=person,
                case_number=case_number,
                region=REGIONS[i % len(REGIONS)],
            )
        )
        returns.append(
            submission(
                "VoluntaryReturn",
                submission_id=f"return-{i}",
                person_id=person,
                returned_on="2025-01-15",
                channel="army-plus",
                case_number=case_number,
            )
        )
    return [encoded(s) for s in cases + returns]


async def _publish(kafka: KafkaClientOptions, topic: str, values: list[bytes], chunk: int = 2000) -> None:
    producer = AIOKafkaProducer(**kafka.aiokafka(), linger_ms=20, acks="all")
    await producer.start()
    try:
        for start in range(0, len(values), chunk):
            sent = [
                await producer.send(topic, value, key=str(start + n).encode())
                for n, value in enumerate(values[start : start + chunk])
            ]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()


def _rebalances(log: Path) -> list[tuple[str, tuple[str, ...]]]:
    """The partitions revoked from and assigned to the instance writing ``log``, in order."""
    seen = []
    for line in log.read_text(errors="replace").splitlines():
        if '"partitions ' not in line:
            continue
        entry = json.loads(line)
        if entry["event"] in ("partitions revoked", "partitions assigned"):
            seen.append((entry["event"], tuple(entry["partitions"])))
    return seen


async def _settled(system: Replicated, timeout_s: float) -> None:
    """Every checkpoint at its topic's end (lag 0) and both outboxes empty."""
    p = system.pipeline
    await p.intake.consumed_everything(timeout_s)
    await eventually(
        lambda: p.intake.pool.fetchval(f'SELECT count(*) FROM "{p.intake.schema}".outbox'),
        lambda n: n == 0,
        timeout_s,
    )
    await p.eligibility.settled(timeout_s)
    await p.statistics.caught_up(timeout_s)


async def _summaries(system: Replicated) -> list[dict[str, object]]:
    answers = []
    for process in system.instances["statistics"]:
        async with httpx2.AsyncClient(base_url=process.url, timeout=10) as http:
            answers.append((await http.get("/v1/stats/summary")).json())
    return answers


async def test_three_instances_each_killed_and_restarted_under_load_decide_every_return_once(
    replicated: Replicated,
) -> None:
    system, p = replicated, replicated.pipeline
    started = time.monotonic()
    publishing = asyncio.create_task(
        _publish(p.intake.bootstrap, p.intake.upstream, _submissions(0, PERSONS))
    )
    recorded = f'SELECT count(*) FROM "{p.intake.schema}".submission_log'

    # Killed and restarted at once, within their session: each takes its own partitions back.
    await eventually(lambda: p.intake.pool.fetchval(recorded), partial(operator.le, PERSONS // 2), 180)
    await asyncio.gather(*(system.restart(n) for n in ("intake-2", "eligibility-3", "statistics-1")))

    # Killed and left dead past the session: their partitions move to the others, and back on return.
    await eventually(lambda: p.intake.pool.fetchval(recorded), partial(operator.le, PERSONS), 180)
    survivors = ("intake-1", "intake-2", "eligibility-2", "eligibility-3", "statistics-1", "statistics-3")
    seen = {name: len(_rebalances(system.instance(name).log)) for name in survivors}
    for name in DEAD:
        await system.instance(name).kill()
    await asyncio.sleep(DEAD_SESSION_TIMEOUT_S + 5)
    for name in DEAD:
        await system.instance(name).start(ready_timeout_s=90)
    await publishing
    await _settled(system, timeout_s=240)
    elapsed = time.monotonic() - started

    # The dead ones' partitions moved to the survivors meanwhile: one of two held more than its third.
    held: dict[str, int] = {}
    for name in survivors:
        service = name.rpartition("-")[0]
        for event, partitions in _rebalances(system.instance(name).log)[seen[name] :]:
            if event == "partitions assigned":
                held[service] = max(held.get(service, 0), len(partitions))
    assert held == {"intake": 2, "eligibility": 2, "statistics": 3}, "3 partitions a topic, 2 survivors"

    assert await p.intake.pool.fetchval(recorded) == 2 * PERSONS
    cases = [json.loads(r.value or b"") for r in await read_all(p.intake.bootstrap, p.intake.cases)]
    events_of_submission: dict[str, set[str]] = {}
    for case in cases:
        events_of_submission.setdefault(case["submission"]["submission_id"], set()).add(case["event_id"])
    assert len(events_of_submission) == 2 * PERSONS, "every submission became a case event"
    assert all(len(ids) == 1 for ids in events_of_submission.values()), "and only one"

    decisions = {}  # by event id: the relay publishes at least once, a consumer dedupes by event id
    for record in await read_all(p.eligibility.bootstrap, p.eligibility.decisions):
        event = json.loads(record.value or b"")
        decisions[event["event_id"]] = (event["type"], event["submission"]["submission_id"])
    finals = Counter(return_id for type_, return_id in decisions.values() if type_ in FINAL)
    pendings = Counter(return_id for type_, return_id in decisions.values() if type_ == "EligibilityPending")
    # Decisions carry a submission_id as intake records it, a keyed digest.
    returns = {recorded_submission_id(f"return-{i}") for i in range(PERSONS)}
    assert set(finals) == returns, "every return decided"
    assert set(finals.values()) == {1}, "exactly once"
    assert set(pendings.values()) <= {1}, "pending at most once, before its case came"

    summaries = await _summaries(system)
    assert summaries[0]["cases_opened"] == PERSONS
    assert summaries[0]["voluntary_returns"] == PERSONS
    assert summaries[1:] == summaries[:-1], "every statistics instance serves the same read model"

    incremental = await p.statistics.daily_stats()
    output = await p.statistics.rebuild_command()
    assert "version 2 replaces version 1" in output
    assert await p.statistics.daily_stats() == incremental, "the read model equals a rebuild from the topics"
    print(f"{2 * PERSONS} submissions through 3x3 instances with 6 kills: settled after {elapsed:.0f}s")


async def test_an_instance_restarted_under_its_instance_id_rejoins_without_a_rebalance(
    replicated: Replicated,
) -> None:
    system, p = replicated, replicated.pipeline
    await _settled(system, timeout_s=120)
    others = {name: _rebalances(system.instance(name).log) for name in ("eligibility-1", "eligibility-3")}
    before = _rebalances(system.instance("eligibility-2").log)
    held = [partitions for event, partitions in before if event == "partitions assigned"][-1]
    assert held, "eligibility-2 holds partitions"

    await system.restart("eligibility-2")
    # More work for every partition: a member that came back as a stranger would leave its old self's
    # partitions waiting for the session to expire, and then be rebalanced in.
    await _publish(p.intake.bootstrap, p.intake.upstream, _submissions(PERSONS, 300))
    await _settled(system, timeout_s=120)

    after = _rebalances(system.instance("eligibility-2").log)[len(before) :]
    assert after == [("partitions assigned", held)], "its own partitions back, nothing else"
    assert {name: _rebalances(system.instance(name).log) for name in others} == others, "no rebalance"


async def _leading(system: Replicated, names: list[str]) -> list[str]:
    """Of the instances ``names``, those whose outbox relay says it leads (holds its schema's lease)."""
    leaders = []
    for name in names:
        service = name.rpartition("-")[0]
        async with httpx2.AsyncClient(base_url=system.instance(name).url, timeout=10) as http:
            metrics = (await http.get("/metrics")).text.splitlines()
        if f'amnesty_outbox_relay_leading{{service="{service}"}} 1.0' in metrics:
            leaders.append(name)
    return leaders


@pytest.mark.parametrize("service", ["intake", "eligibility"])
async def test_one_outbox_relay_leads_per_schema_across_instances_and_another_takes_over(
    replicated: Replicated, service: str
) -> None:
    system = replicated
    names = [f"{service}-{n}" for n in range(1, INSTANCES + 1)]
    [leader] = await eventually(partial(_leading, system, names), lambda leaders: len(leaders) == 1)
    await system.instance(leader).kill()
    # The lease went with the killed leader's session: one of the two others takes it, never both.
    others = [name for name in names if name != leader]
    [successor] = await eventually(partial(_leading, system, others), lambda leaders: len(leaders) == 1)
    await system.instance(leader).start(ready_timeout_s=120)
    assert await _leading(system, names) == [successor], "the one back waits for the lease"
    await _settled(system, timeout_s=120)
