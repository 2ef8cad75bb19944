"""The Kafka door: batches of amnesty.cases.v1 decided once each, checkpointed with eligibility's state."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from uuid import UUID

import structlog

from amnesty_contracts import parse_json_document
from amnesty_eligibility.service_layer.handlers import SERVICE, Eligibility, decide_eligibility
from amnesty_eventstore import DbConnection, Pool
from amnesty_eventstore.consumption import BatchHandler, CheckpointedConsumer, Delivery
from amnesty_eventstore.outbox_relay import EVENT_ID_HEADER
from amnesty_runtime.metrics import HANDLER_SECONDS, MESSAGES_CONSUMED, MESSAGES_REJECTED

log = structlog.get_logger(__name__)


def message_identity(delivery: Delivery) -> str | None:
    """The event id: from the relay's `event-id` header, else from the body; None when it has neither."""
    for name, value in delivery.headers:
        if name == EVENT_ID_HEADER:
            return _normalised(value.decode("utf-8", errors="replace"))
    document = parse_json_document(delivery.value)
    if isinstance(document, dict) and isinstance(event_id := document.get("event_id"), str):
        return _normalised(event_id)
    return None


def _normalised(event_id: str) -> str:
    # One spelling per id, so a header and a body naming the same event give the same identity.
    try:
        return str(UUID(event_id))
    except ValueError:
        return event_id


def decide_deliveries(eligibility: Eligibility) -> BatchHandler:
    """The batch handler: decide, then count (metrics count applications, so a batch retried counts twice)."""

    async def handle(conn: DbConnection, deliveries: Sequence[Delivery]) -> None:
        started = time.perf_counter()
        summary = await decide_eligibility(conn, deliveries, eligibility)
        # The batch's time shared among its messages: per-message figures for a batched handler.
        share = (time.perf_counter() - started) / len(deliveries)
        for (topic, type_), n in Counter(
            (d.topic, t) for d, t in zip(deliveries, summary.types, strict=True)
        ).items():
            MESSAGES_CONSUMED.labels(SERVICE, topic, type_).inc(n)
            histogram = HANDLER_SECONDS.labels(SERVICE, type_)
            for _ in range(n):
                histogram.observe(share)
        for reason, n in Counter(summary.rejected).items():
            MESSAGES_REJECTED.labels(SERVICE, reason.value).inc(n)
        log.debug(
            "batch decided",
            messages=len(deliveries),
            rejected=len(summary.rejected),
            decisions=dict(summary.decisions),
        )

    return handle


def cases_consumer(pool: Pool, group: str, eligibility: Eligibility) -> CheckpointedConsumer:
    """Eligibility's consumer group over amnesty.cases.v1, its checkpoints in eligibility's schema."""
    return CheckpointedConsumer(
        pool, eligibility.schema, group, decide_deliveries(eligibility), message_identity
    )
