"""What /metrics adds for statistics: the business gauges and the projection lag.

Business gauges are read from the read model, not counted in the process, so a restart or a rebuild
leaves them as they were: a collector serves the latest snapshot of the `totals` view, refreshed by a
task every few seconds (prometheus_client collects synchronously; a scrape never waits on the database).

- ``amnesty_cases_opened{article,region}``: cases opened, all time, under the article they were opened with
- ``amnesty_voluntary_returns{region}``: voluntary returns, all time
- ``amnesty_decisions{decision,regime,reason}``: returns by the decision in force on them: ``decision``
  is ``granted`` (with its regime), ``denied`` (with its reason), ``pending`` (reason), ``revoked`` (the
  revoked grant's regime and the reason); the label a decision does not have is ``""``
- ``amnesty_open_cases{region}``: cases open now ("absent now")

The label values the contract fixes are always exposed (the 27 regions, both articles, every denial and
pending reason), zeros included; open ones (a regime, the region ``unknown``) while their value is not 0.

- ``amnesty_projection_lag_seconds{projection="statistics"}``: how far behind its topics the read model
  may be: the time since the latest moment at which everything then on the topics had been applied
  (0 when caught up; see amnesty_statistics.domain.lag)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Final

import structlog
from prometheus_client import Gauge
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from amnesty_contracts import REGION_NAMES, Article, DenialReason, PendingReason
from amnesty_runtime.service import ReadinessCheck
from amnesty_statistics.adapters.stats_queries import StatsQueries, Total
from amnesty_statistics.adapters.topic_ends import TopicEnds
from amnesty_statistics.domain.figures import NO_LABEL
from amnesty_statistics.domain.figures import Metric as Figure
from amnesty_statistics.domain.lag import LagTracker, TopicPartition

PROJECTION: Final = "statistics"

PROJECTION_LAG = Gauge(
    "amnesty_projection_lag_seconds",
    "How far behind its topics a read model may be: seconds since everything then on them was applied.",
    ["projection"],
)

_DECISIONS: Final = {
    Figure.AMNESTIES_GRANTED: "granted",
    Figure.AMNESTIES_DENIED: "denied",
    Figure.PENDING: "pending",
    Figure.REVOKED: "revoked",
}

_FIXED_DECISIONS: Final[set[tuple[str, ...]]] = {("denied", NO_LABEL, r.value) for r in DenialReason} | {
    ("pending", NO_LABEL, r.value) for r in PendingReason
}

Labelled = dict[tuple[str, ...], int]
"""A gauge's values by their label values."""

log = structlog.get_logger(__name__)


class BusinessFigures(Collector):
    """The business gauges, from the latest snapshot of the read model's totals."""

    def __init__(self) -> None:
        self._totals: list[Total] = []

    def update(self, totals: list[Total]) -> None:
        self._totals = totals

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        # The label sets the contract fixes (regions, articles, reasons) are always exposed, zeros too;
        # the open ones (regimes, `unknown`) while non-zero. The series are then a function of the figures
        # alone, the same after a rebuild as after years of late events.
        cases: Labelled = {}
        returns: Labelled = {}
        decisions: Labelled = {}
        open_cases: Labelled = {}
        for t in self._totals:
            if t.metric == Figure.CASES_OPENED:
                _add(cases, (t.article, t.region), t.value)
            elif t.metric == Figure.VOLUNTARY_RETURNS:
                _add(returns, (t.region,), t.value)
            elif t.metric == Figure.OPEN_CASES_CHANGE:
                _add(open_cases, (t.region,), t.value)
            elif t.metric in _DECISIONS:
                _add(decisions, (_DECISIONS[Figure(t.metric)], t.regime, t.reason), t.value)
        return self._families(
            _shown(cases, {(a.value, r) for a in Article for r in REGION_NAMES}),
            _shown(returns, {(r,) for r in REGION_NAMES}),
            _shown(decisions, _FIXED_DECISIONS),
            _shown(open_cases, {(r,) for r in REGION_NAMES}),
        )

    @staticmethod
    def _families(*values: Labelled) -> Iterator[Metric]:
        specs = (
            (
                "amnesty_cases_opened",
                "Cases opened, all time, by article (as opened) and region.",
                ["article", "region"],
            ),
            ("amnesty_voluntary_returns", "Voluntary returns, all time, by region.", ["region"]),
            (
                "amnesty_decisions",
                "Returns by the decision in force on them: granted, denied, pending or revoked.",
                ["decision", "regime", "reason"],
            ),
            ("amnesty_open_cases", "Cases open now (absent now), by region.", ["region"]),
        )
        for i, (name, documentation, labels) in enumerate(specs):
            family = GaugeMetricFamily(name, documentation, labels=labels)
            for label_values, value in sorted((values[i] if values else {}).items()):
                family.add_metric(list(label_values), value)
            yield family


def _shown(values: Labelled, fixed: set[tuple[str, ...]]) -> Labelled:
    """The fixed label sets (zeros included) and the others while non-zero."""
    return {key: values.get(key, 0) for key in fixed} | {key: v for key, v in values.items() if v}


def _add(counts: Labelled, key: tuple[str, ...], value: int) -> None:
    counts[key] = counts.get(key, 0) + value


async def refresh_figures(figures: BusinessFigures, queries: StatsQueries, interval_s: float) -> None:
    """Keep ``figures`` current, until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            figures.update(await queries.totals())
        except Exception:  # the gauges keep their last values until the database answers again
            log.exception("reading the business figures failed")


class LagMonitor:
    """Measures the projection lag every ``interval_s``; ready while it stays within ``bound_s``."""

    def __init__(
        self,
        ends: TopicEnds,
        applied: Callable[[Iterable[TopicPartition]], Awaitable[dict[TopicPartition, int]]],
        *,
        interval_s: float,
        bound_s: float,
    ) -> None:
        self._ends = ends
        self._applied = applied
        self._interval_s = interval_s
        self._bound_s = bound_s
        self._tracker = LagTracker()
        self.lag_s: float | None = None
        self._measured_at = 0.0

    async def measure(self) -> float:
        ends = await self._ends()
        now = time.monotonic()
        self.lag_s = self._tracker.observe(now, ends, await self._applied(ends))
        self._measured_at = time.monotonic()
        PROJECTION_LAG.labels(PROJECTION).set(self.lag_s)
        return self.lag_s

    async def run(self) -> None:
        """Measure until cancelled."""
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.measure()
            except Exception:  # measured again at the next tick; meanwhile readiness says how old it is
                log.exception("measuring the projection lag failed")

    def readiness(self) -> ReadinessCheck:
        async def probe() -> str | None:
            if self.lag_s is None:
                return "projection lag not measured yet"
            unmeasured = time.monotonic() - self._measured_at
            if unmeasured > max(self._bound_s, 10 * self._interval_s):
                return f"projection lag not measured for {unmeasured:.0f}s"
            if self.lag_s > self._bound_s:
                return f"the read model is {self.lag_s:.0f}s behind its topics (bound: {self._bound_s:.0f}s)"
            return None

        return ReadinessCheck("projection", probe)
