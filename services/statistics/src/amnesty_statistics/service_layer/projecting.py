"""project_events: a batch of case events and decisions into one version of the read model.

In the caller's transaction (the consumer's, with its checkpoints and handled event ids): lock the
persons of the batch, fold their events into their states, store the states, and add the deltas to the
daily table and the totals, one statement each.

A message that is not a readable event is skipped, counted and logged (its coordinates and reason, never
its content). Statistics publishes nothing: the case events' producer, intake, and their other consumer,
eligibility, already dead-letter what they cannot read, and an event type this version does not know yet
is a newer producer's, not an error.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from amnesty_contracts import Rejection, parse_case_event, parse_decision_event
from amnesty_eventstore import DbConnection
from amnesty_eventstore.consumption import Delivery
from amnesty_runtime.metrics import HANDLER_SECONDS, MESSAGES_CONSUMED, MESSAGES_REJECTED
from amnesty_statistics.adapters.read_model import ReadModel
from amnesty_statistics.domain.persons import ProjectedEvent
from amnesty_statistics.domain.projection import project_batch

SERVICE = "statistics"

INVALID = "invalid"
"""The message type counted for a delivery that is not a readable event."""

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Projection:
    """A version of the read model, and the topics that feed it."""

    read_model: ReadModel
    cases_topic: str
    decisions_topic: str


@dataclass(frozen=True, slots=True)
class BatchReport:
    events: int
    skipped: int
    persons_changed: int
    cells_changed: int


async def project_events(
    conn: DbConnection, deliveries: Sequence[Delivery], projection: Projection
) -> BatchReport:
    """Apply a batch (already deduplicated by the consumer) to ``projection``'s read model."""
    started = time.perf_counter()
    events: list[ProjectedEvent] = []
    kinds: list[str] = []
    for delivery in deliveries:
        read = _parse(delivery, projection)
        if isinstance(read, Rejection):
            log.warning(
                "message skipped",
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
                reason=str(read.reason),
                detail=read.detail,
            )
            MESSAGES_REJECTED.labels(SERVICE, str(read.reason)).inc()
            kinds.append(INVALID)
        else:
            events.append(read)
            kinds.append(read.type)
    states = await projection.read_model.lock_persons(conn, list({e.person for e in events}))
    changed, deltas = project_batch(states, events)
    await projection.read_model.save_persons(conn, changed)
    await projection.read_model.add(conn, deltas)
    _count(deliveries, kinds, time.perf_counter() - started)
    return BatchReport(len(events), len(deliveries) - len(events), len(changed), len(deltas))


def _parse(delivery: Delivery, projection: Projection) -> ProjectedEvent | Rejection:
    if delivery.topic == projection.decisions_topic:
        return parse_decision_event(delivery.value)
    return parse_case_event(delivery.value)


def _count(deliveries: Sequence[Delivery], kinds: list[str], elapsed: float) -> None:
    per_message = elapsed / len(deliveries) if deliveries else 0.0
    for (topic, kind), n in Counter((d.topic, k) for d, k in zip(deliveries, kinds, strict=True)).items():
        MESSAGES_CONSUMED.labels(SERVICE, topic, kind).inc(n)
        histogram = HANDLER_SECONDS.labels(SERVICE, kind)
        for _ in range(n):
            histogram.observe(per_message)
