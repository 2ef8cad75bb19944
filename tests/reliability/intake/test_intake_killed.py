"""Intake killed (SIGKILL) in the middle of its batches, restarted: nothing lost, nothing recorded twice."""

from __future__ import annotations

import json
import operator
import random
from functools import partial
from pathlib import Path

import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.support.intake import encoded, intake_under_test, submission
from tests.support.kafka import read_all
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SUBMISSIONS = 1500


async def test_a_killed_intake_restarts_without_losing_or_duplicating(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    originals = [submission(submission_id=f"s-{i}", person_id=f"7{i:09d}") for i in range(SUBMISSIONS)]
    poison = [b"{oops"] * 30
    resends = [encoded(s) for s in random.Random(3).sample(originals, 300)]
    stream = [encoded(s) for s in originals] + poison + resends
    random.Random(5).shuffle(stream)

    async with intake_under_test(endpoints, admin_pool, tmp_path / "intake.log") as intake:
        await intake.publish(stream)
        log_count = f'SELECT count(*) FROM "{intake.schema}".submission_log'
        for threshold in (SUBMISSIONS // 4, SUBMISSIONS // 2):
            await intake.process.start()
            await eventually(lambda: admin_pool.fetchval(log_count), partial(operator.le, threshold))
            await intake.process.kill()
        await intake.process.start()
        await intake.consumed_everything(timeout_s=120)
        # The relay publishes what the killed runs left in the outbox.
        await eventually(
            lambda: admin_pool.fetchval(f'SELECT count(*) FROM "{intake.schema}".outbox'), lambda n: n == 0
        )

        assert await admin_pool.fetchval(log_count) == SUBMISSIONS
        cases = [json.loads(r.value) for r in await read_all(intake.bootstrap, intake.cases)]
        event_of: dict[str, set[str]] = {}
        for case in cases:
            event_of.setdefault(case["submission"]["submission_id"], set()).add(case["event_id"])
        assert len(event_of) == SUBMISSIONS, "every submission reached amnesty.cases.v1"
        assert all(len(ids) == 1 for ids in event_of.values()), "no submission became two events"
        rejected = [json.loads(r.value) for r in await read_all(intake.bootstrap, intake.rejected)]
        # At least once: a rejection published just before a kill may be published again after it.
        assert {(r["partition"], r["offset"]) for r in rejected} == {
            (r["partition"], r["offset"]) for r in rejected if r["reason"] == "invalid-json"
        }
        assert len({(r["partition"], r["offset"]) for r in rejected}) == len(poison)
