"""The one processing path of every service: a Kafka batch in, the service's policy over it, one commit.

A service is a ``Policy`` (see ``policy``): ``prepare`` does the batch's stateless work (parse, validate,
pseudonymize) while the previous batch commits, and returns the step that applies it inside the batch's
transaction (read state, decide, append events and dead letters to the store and its outbox). This module
wires a policy to Kafka and PostgreSQL — checkpoints, message identities and the transaction come from
``CheckpointedConsumer``, pipelining from ``kafka_batches`` — and counts every batch with the contract's
metrics, the same way for every service.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import structlog
from faststream.kafka import KafkaBroker

from amnesty_eventstore import DbConnection, Pool
from amnesty_eventstore.consumption import AfterCommit, BatchHandler, CheckpointedConsumer, Delivery
from amnesty_eventstore.kafka_batches import BatchPipeline, Fetching, Membership, subscribe_checkpointed
from amnesty_runtime.metrics import CONSUMER_LAG, HANDLER_SECONDS, MESSAGES_CONSUMED, MESSAGES_REJECTED
from amnesty_runtime.policy import BatchReport, Policy

log = structlog.get_logger(__name__)


def count_batch(service: str, topics: Sequence[str], report: BatchReport, seconds: float) -> None:
    """The contract's operational metrics for one batch: consumed by topic and type, rejected by reason,
    and the handler time shared among its messages (per-message figures for a batched handler)."""
    share = seconds / len(topics) if topics else 0.0
    for (topic, type_), n in Counter(zip(topics, report.types, strict=True)).items():
        MESSAGES_CONSUMED.labels(service, topic, type_).inc(n)
        histogram = HANDLER_SECONDS.labels(service, type_)
        for _ in range(n):
            histogram.observe(share)
    for reason, n in Counter(report.rejected).items():
        MESSAGES_REJECTED.labels(service, reason).inc(n)


def counted(policy: Policy) -> Callable[[Sequence[Delivery]], BatchHandler]:
    """``policy.prepare`` as the pipeline's prepare step, with the batch counted once it is applied.

    Counted inside the transaction: a batch that fails and comes again is counted again (the metrics
    count applications, not distinct messages).
    """

    def prepare(deliveries: Sequence[Delivery]) -> BatchHandler:
        started = time.perf_counter()
        apply = policy.prepare(deliveries)
        prepared_s = time.perf_counter() - started

        async def handle(conn: DbConnection, to_apply: Sequence[Delivery]) -> AfterCommit | None:
            started = time.perf_counter()
            report = await apply(conn, to_apply)
            seconds = prepared_s * len(to_apply) / len(deliveries) + time.perf_counter() - started
            count_batch(policy.service, [d.topic for d in to_apply], report, seconds)
            return report.after_commit

        return handle

    return prepare


def policy_consumer(
    pool: Pool,
    schema: str,
    group: str,
    policy: Policy,
) -> CheckpointedConsumer:
    """The consumer group's state in ``schema``, applying batches with ``policy`` (prepared in place when
    the consumer is called directly rather than through a pipeline)."""
    prepare = counted(policy)

    async def handle(conn: DbConnection, deliveries: Sequence[Delivery]) -> AfterCommit | None:
        return await prepare(deliveries)(conn, deliveries)

    return CheckpointedConsumer(pool, schema, group, handle)


def subscribe_policy(
    broker: KafkaBroker,
    consumer: CheckpointedConsumer,
    policy: Policy,
    *topics: str,
    max_records: int,
    persistent: bool = True,
    membership: Membership = Membership(),  # noqa: B008 - frozen: one shared default is safe
    fetching: Fetching = Fetching(),  # noqa: B008 - frozen too
) -> BatchPipeline:
    """Subscribe ``consumer`` (from ``policy_consumer``) to ``topics``, each batch prepared by ``policy``
    while the previous one commits; as a static member of the group when ``membership`` names one, the
    broker gathering batches as ``fetching`` says."""
    return subscribe_checkpointed(
        broker,
        consumer,
        *topics,
        max_records=max_records,
        persistent=persistent,
        prepare=counted(policy),
        forget=policy.forget,
        membership=membership,
        fetching=fetching,
    )


async def watch_consumer_lag(
    service: str, pipelines: Callable[[], Iterable[BatchPipeline]], interval_s: float = 5.0
) -> None:
    """Export ``amnesty_consumer_lag_messages`` for the service's pipelines every ``interval_s``, until
    cancelled: the broker's end of each assigned partition (as its last fetch answered, so no request)
    less the next offset to apply.

    A failed measurement (a partition moving away mid-rebalance, say) is logged and tried again: the
    watch ran in a gather that keeps a failure until the service stops, so the gauge froze unseen.
    """
    while True:
        try:
            for pipeline in pipelines():
                for topic, behind in pipeline.lag().items():
                    CONSUMER_LAG.labels(service, topic).set(behind)
        except Exception:
            log.warning("measuring the consumer lag failed", service=service, exc_info=True)
        await asyncio.sleep(interval_s)
