"""The Kafka door: batches of amnesty.upstream.v1 admitted once each, checkpointed with intake's state."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from amnesty_eventstore import Pool
from amnesty_eventstore.consumption import CheckpointedConsumer
from amnesty_eventstore.kafka_batches import BatchPipeline, Fetching, Membership
from amnesty_intake.service_layer.admission import Admission
from amnesty_runtime.processing import policy_consumer, subscribe_policy


def upstream_consumer(pool: Pool, schema: str, group: str, admission: Admission) -> CheckpointedConsumer:
    # No message identity: upstream submissions are deduplicated by (source, submission_id) in the
    # submission log, which also catches the same submission sent twice at different offsets.
    return policy_consumer(pool, schema, group, admission)


def subscribe_upstream(
    broker: KafkaBroker,
    pool: Pool,
    admission: Admission,
    *,
    schema: str,
    group: str,
    topic: str,
    max_records: int,
    membership: Membership,
    fetching: Fetching,
) -> BatchPipeline:
    return subscribe_policy(
        broker,
        upstream_consumer(pool, schema, group, admission),
        admission,
        topic,
        max_records=max_records,
        membership=membership,
        fetching=fetching,
    )
