"""The calibrated history through the whole system: the statistics API reproduces the published figures.

The simulator's submissions (scale 0.1, expectations scaled the same way) go to intake's upstream topic
as any upstream system would send them — returns before their cases, resends, malformed messages — and
intake, eligibility and statistics run as real processes. Then, from the statistics API: monthly new
cases per article equal every published monthly figure, and cumulative voluntary returns since the first
window are within 3 % of the SBI figures.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx2
import pytest

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from amnesty_simulator.calibration import calibrate, month_of, read_figures, return_targets
from amnesty_simulator.publisher import publish
from amnesty_simulator.submissions import submissions
from amnesty_simulator.world import generate, scaled
from tests.support.kafka import read_all
from tests.support.pipeline import pipeline_under_test

pytestmark = pytest.mark.integration

SCALE, SEED = 0.1, 2024


async def test_the_statistics_reproduce_the_published_figures(
    endpoints: Endpoints, admin_pool: Pool, tmp_path: Path
) -> None:
    figures = read_figures()
    calendar = calibrate(figures, (2022, 1), (2025, 9))
    world = generate(
        calendar, return_targets(figures), first=(2022, 1), last=(2025, 9), scale=SCALE, seed=SEED
    )
    messages = submissions(world, seed=SEED)
    malformed = sum(1 for m in messages if m.key == b"malformed")
    distinct = len({m.value for m in messages if m.key != b"malformed"})

    async with pipeline_under_test(endpoints, admin_pool, tmp_path, batch_max_records=1000) as pipeline:
        await publish(messages, kafka=endpoints.kafka_admin, topic=pipeline.intake.upstream, speed=None)
        await pipeline.start()
        await pipeline.intake.consumed_everything(timeout_s=600)
        await pipeline.eligibility.settled(timeout_s=600)
        await pipeline.statistics.caught_up(timeout_s=600)

        async with httpx2.AsyncClient(base_url=pipeline.statistics.process.url, timeout=30) as http:
            for article in ("407", "408"):
                series = await _get(
                    http,
                    "/v1/stats/series",
                    metric="cases_opened",
                    period="month",
                    article=article,
                    **{"from": "2022-01-01", "to": "2025-09-30"},
                )
                by_month = {month_of(p["period"]): p["value"] for p in series}
                published = [f for f in figures if f.series == "new_cases_month" and f.article == article]
                assert published
                for f in published:
                    assert by_month[month_of(f.period)] == scaled(f.value, SCALE), f
                assert by_month == {m: scaled(calendar.counts[(article, m)], SCALE) for m in by_month}

            for target in return_targets(figures):
                if target.on == date(2025, 1, 20):
                    continue  # the Commander-in-Chief's rounded figure; the three SBI ones are the check
                summary = await _get(
                    http, "/v1/stats/summary", **{"from": "2024-11-29", "to": target.on.isoformat()}
                )
                assert summary["voluntary_returns"] == pytest.approx(target.value * SCALE, rel=0.03), target

        recorded = await admin_pool.fetchval(
            f'SELECT count(*) FROM "{pipeline.intake.schema}".submission_log'
        )
        assert recorded == distinct, "every submission recorded once, resends included"
        rejected = [
            json.loads(r.value) for r in await read_all(endpoints.kafka_admin, pipeline.intake.rejected)
        ]
        assert len({(r["partition"], r["offset"]) for r in rejected}) == malformed


async def _get(http: httpx2.AsyncClient, path: str, **params: str) -> Any:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()
