"""The Kafka door: batches of amnesty.cases.v1 decided once each, checkpointed with eligibility's state."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from amnesty_eligibility.service_layer.handlers import Eligibility
from amnesty_eventstore import Pool
from amnesty_eventstore.consumption import CheckpointedConsumer
from amnesty_eventstore.kafka_batches import BatchPipeline, Fetching, Membership
from amnesty_runtime.processing import policy_consumer, subscribe_policy
from amnesty_runtime.provenance import Verified


def cases_consumer(pool: Pool, group: str, eligibility: Eligibility | Verified) -> CheckpointedConsumer:
    """Eligibility's consumer group over amnesty.cases.v1, its checkpoints in eligibility's schema."""
    return policy_consumer(pool, eligibility.schema, group, eligibility)


def subscribe_cases(
    broker: KafkaBroker,
    pool: Pool,
    eligibility: Eligibility | Verified,
    *,
    group: str,
    topic: str,
    max_records: int,
    membership: Membership,
    fetching: Fetching,
) -> BatchPipeline:
    """Eligibility (behind its provenance check, as the service runs it) over ``topic``."""
    return subscribe_policy(
        broker,
        cases_consumer(pool, group, eligibility),
        eligibility,
        topic,
        max_records=max_records,
        membership=membership,
        fetching=fetching,
    )
