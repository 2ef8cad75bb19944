"""The whole system under test: intake, eligibility and statistics as real processes, chained by topics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from amnesty_eventstore import Pool
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.stack import Endpoints
from tests.support.eligibility import EligibilityUnderTest, eligibility_under_test
from tests.support.intake import IntakeUnderTest, intake_under_test
from tests.support.kafka import end_offsets
from tests.support.processes import ServiceProcess
from tests.support.statistics import StatisticsUnderTest, statistics_under_test


@dataclass
class Pipeline:
    intake: IntakeUnderTest
    eligibility: EligibilityUnderTest
    statistics: StatisticsUnderTest

    async def start(self) -> None:
        await asyncio.gather(
            self.intake.process.start(), self.eligibility.process.start(), self.statistics.process.start()
        )

    async def where_things_stand(self) -> str:
        """Each service's process, checkpoints, store and outbox, the topics' ends and the logs' last
        lines: what a failed test needs to say which hop stopped (a CI log is all there is of a run).

        Never raises: a part that cannot be had (a service that never started has no tables; a broker
        that is down answers nothing) says so, and the test's own failure stays the one reported.
        """
        parts = []
        for topic in (self.intake.cases, self.eligibility.decisions):
            parts.append(f"{topic}: {await _or_why(_messages(self.intake.bootstrap, topic))}")
        for name, process, pool, schema in (
            ("intake", self.intake.process, self.intake.pool, self.intake.schema),
            ("eligibility", self.eligibility.process, self.eligibility.pool, self.eligibility.schema),
            ("statistics", self.statistics.process, self.statistics.pool, self.statistics.schema),
        ):
            parts.append(f"--- {name}: {_state(process)}")
            parts.append(await _or_why(_stored(pool, schema)))
            parts.append(process.log_tail())
        return "\n".join(parts)


@asynccontextmanager
async def pipeline_under_test(
    endpoints: Endpoints, admin_pool: Pool, logs: Path, *, batch_max_records: int = 100
) -> AsyncIterator[Pipeline]:
    """The three services (not started), each on its own schema and consumer group; logs in ``logs``/."""
    async with (
        intake_under_test(endpoints, admin_pool, logs / "intake.log") as intake,
        eligibility_under_test(
            endpoints,
            admin_pool,
            logs / "eligibility.log",
            cases_topic=intake.cases,
            batch_max_records=batch_max_records,
        ) as eligibility,
        statistics_under_test(
            endpoints,
            admin_pool,
            logs / "statistics.log",
            cases_topic=intake.cases,
            decisions_topic=eligibility.decisions,
        ) as statistics,
    ):
        intake.process.env["AMNESTY_INTAKE_BATCH_MAX_RECORDS"] = str(batch_max_records)
        statistics.process.env["AMNESTY_STATISTICS_BATCH_MAX_RECORDS"] = str(batch_max_records)
        pipeline = Pipeline(intake, eligibility, statistics)
        try:
            yield pipeline
        except Exception as failure:
            failure.add_note(await pipeline.where_things_stand())
            raise


async def _or_why(part: Awaitable[str], timeout_s: float = 10.0) -> str:
    try:
        async with asyncio.timeout(timeout_s):
            return await part
    except Exception as exc:
        return f"(unavailable: {exc!r})"


async def _messages(kafka: KafkaClientOptions, topic: str) -> str:
    return f"{await end_offsets(kafka, topic)} messages"


def _state(process: ServiceProcess) -> str:
    if process.process is None:
        return "not started"
    code = process.process.returncode
    return "running" if code is None else f"exited with {code}"


async def _stored(pool: Pool, schema: str) -> str:
    checkpoints = await pool.fetch(
        f'SELECT consumer_group, topic, partition, next_offset FROM "{schema}".consumer_checkpoints '
        "ORDER BY 1, 2, 3"
    )
    events = await pool.fetch(
        f'SELECT type, count(*) AS n FROM "{schema}".events GROUP BY type ORDER BY type'
    )
    outbox = await pool.fetchval(f'SELECT count(*) FROM "{schema}".outbox')
    return (
        f"checkpoints {[tuple(row) for row in checkpoints]}; events {dict(map(tuple, events))}; "
        f"outbox {outbox} pending"
    )
