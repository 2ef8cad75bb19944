"""Benchmark: the whole simulated history (2022-01..2025-09) on the live page, from the simulator's start.

Run with ``uv run --frozen python -m tests.bench.bench_history [--scale 1.0]`` (tests/bench/README.md).
The three services run as real processes (``pipeline_under_test``, production batch size and log
level) and are ready before the clock starts; then ``amnesty simulate --speed max`` generates the
calibrated history and publishes it to intake's upstream topic, as ``make demo`` does. The clock stops
when every service has applied its whole input (the stored checkpoints reach the topics' ends, the
simulator having exited) and the statistics summary, which the live page shows, has the simulator's
cases. Also: when the simulator had published, and when each service had caught up. Output:
``bench-results/history.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from amnesty_simulator.calibration import calibrate, read_figures
from amnesty_simulator.world import scaled
from tests.bench.bench_e2e import OUT, bench_stack, measured_code, production_pipeline, progress
from tests.support.kafka import end_offsets
from tests.support.pipeline import Pipeline
from tests.support.waiting import checkpoints_cover, eventually

REPORT = OUT / "history.md"
TARGET_S = 75.0
FIRST, LAST = (2022, 1), (2025, 9)


@dataclass(frozen=True)
class History:
    scale: float
    expected_cases: int
    published_s: float  # simulator start → it exited (generated and published everything)
    submissions: int  # on the upstream topic
    caught_up_s: dict[str, float]  # simulator start → each service applied all of its input
    shown_s: float  # simulator start → the summary shows everything
    summary: dict[str, Any]


async def simulate(endpoints: Endpoints, topic: str, scale: float) -> asyncio.subprocess.Process:
    """``amnesty simulate`` at full speed into ``topic`` (a test topic: it logs in as the admin)."""
    env = os.environ | endpoints.kafka_admin.environment()  # noqa: TID251 - a child inherits it
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "amnesty"),
        *("simulate", "--from", f"{FIRST[0]}-{FIRST[1]:02d}", "--to", f"{LAST[0]}-{LAST[1]:02d}"),
        *("--scale", str(scale), "--speed", "max", "--topic", topic, "--quiet"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def bench_history(
    endpoints: Endpoints, pool: Pool, pipeline: Pipeline, scale: float, timeout_s: float
) -> History:
    calendar = calibrate(read_figures(), FIRST, LAST)
    expected_cases = sum(scaled(n, scale) for n in calendar.counts.values())
    await pipeline.start()
    started = time.perf_counter()
    simulator = await simulate(endpoints, pipeline.intake.upstream, scale)
    try:
        output, _ = await asyncio.wait_for(simulator.communicate(), timeout_s)
    finally:
        if simulator.returncode is None:
            simulator.kill()
            await simulator.wait()
    if simulator.returncode != 0:
        raise RuntimeError(f"the simulator failed ({simulator.returncode}):\n{output.decode()[-3000:]}")
    published_s = time.perf_counter() - started
    submissions = await end_offsets(endpoints.kafka_admin, pipeline.intake.upstream)

    # A service has handled its input once its checkpoints cover it and its relay has published all it
    # wrote: only then are the next service's topics at their final ends.
    caught_up: dict[str, float] = {}
    await checkpoints_cover(pool, pipeline.intake.schema, submissions, timeout_s)
    await outbox_drained(pool, pipeline.intake.schema, timeout_s)
    caught_up["intake"] = time.perf_counter() - started
    cases = await end_offsets(endpoints.kafka_admin, pipeline.intake.cases)
    await checkpoints_cover(pool, pipeline.eligibility.schema, cases, timeout_s)
    await outbox_drained(pool, pipeline.eligibility.schema, timeout_s)
    caught_up["eligibility"] = time.perf_counter() - started
    decisions = await end_offsets(endpoints.kafka_admin, pipeline.eligibility.decisions)
    await checkpoints_cover(pool, pipeline.statistics.schema, cases + decisions, timeout_s)
    caught_up["statistics"] = time.perf_counter() - started
    async with httpx2.AsyncClient(base_url=pipeline.statistics.process.url, timeout=30) as http:
        summary = await eventually(
            lambda: progress(http, pipeline), lambda s: s["cases_opened"] >= expected_cases, timeout_s
        )
    return History(
        scale=scale,
        expected_cases=expected_cases,
        published_s=published_s,
        submissions=submissions,
        caught_up_s=caught_up,
        shown_s=time.perf_counter() - started,
        summary=summary,
    )


async def outbox_drained(pool: Pool, schema: str, timeout_s: float) -> None:
    """Wait until the relay of ``schema`` has published (and deleted) every outbox row."""

    async def pending() -> int:
        return int(await pool.fetchval(f'SELECT count(*) FROM "{schema}".outbox'))

    await eventually(pending, lambda n: n == 0, timeout_s)


def table(history: History, load: str) -> str:
    s = history.summary
    met = "yes" if history.shown_s <= TARGET_S else "**no**"
    stages = " / ".join(f"{history.caught_up_s[n]:.1f}" for n in ("intake", "eligibility", "statistics"))
    rows = [
        "| measurement | value | target | meets | run |",
        "| --- | ---: | --- | --- | --- |",
        f"| whole history on the live page (s after the simulator starts) | {history.shown_s:.1f} | "
        f"≤ {TARGET_S:.0f} | {met} | scale {history.scale}, 2022-01..2025-09, "
        "`amnesty simulate --speed max` |",
        f"| simulator generated and published (s) | {history.published_s:.1f} |  |  | "
        f"{history.submissions:,} submissions on the upstream topic |",
        f"| each service applied all its input (s) | {stages} |  |  | intake / eligibility / statistics |",
        f"| end to end (submissions/s) | {history.submissions / history.shown_s:,.0f} |  |  | "
        "submissions ÷ the time to the live page |",
        f"| what the summary shows | {s['cases_opened']:,} / {s['voluntary_returns']:,} / "
        f"{s['amnesties_granted']:,} |  |  | "
        f"cases (expected {history.expected_cases:,}) / returns / grants |",
    ]
    return (
        "# The whole history on the live page\n\n"
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at {measured_code()}.\n"
        f"2 cores; load average before the run {load}. Services ready before the clock starts; production "
        "batches of 500 records.\n\n" + "\n".join(rows) + "\n"
    )


async def main(args: argparse.Namespace) -> None:
    async with bench_stack("history-logs") as bench, production_pipeline(bench, 500) as pipeline:
        history = await bench_history(bench.endpoints, bench.pool, pipeline, args.scale, args.timeout)
    report = table(history, bench.load)
    print(report)
    OUT.mkdir(exist_ok=True)
    REPORT.write_text(report)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_history", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--scale", type=float, default=1.0, help="share of the published volumes")
    parser.add_argument("--timeout", type=float, default=900.0, help="the most any one wait may take (s)")
    args = parser.parse_args()
    if not 0 < args.scale <= 50:
        parser.error("--scale must be above 0 and at most 50")
    return args


if __name__ == "__main__":
    asyncio.run(main(arguments()))
