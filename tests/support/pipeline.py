"""The whole system under test: intake, eligibility and statistics as real processes, chained by topics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.eligibility import EligibilityUnderTest, eligibility_under_test
from tests.support.intake import IntakeUnderTest, intake_under_test
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
        yield Pipeline(intake, eligibility, statistics)
