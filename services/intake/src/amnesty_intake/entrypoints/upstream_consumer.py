"""The Kafka door: batches of amnesty.upstream.v1 admitted once each, checkpointed with intake's state."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from amnesty_eventstore import Pool
from amnesty_eventstore.consumption import CheckpointedConsumer, Delivery
from amnesty_eventstore.identity import EVENT_ID_HEADER
from amnesty_eventstore.kafka_batches import BatchPipeline
from amnesty_intake.adapters.redrive_log import REDRIVE_HEADER
from amnesty_intake.service_layer.admission import Admission
from amnesty_runtime.processing import policy_consumer, subscribe_policy


def redrive_identity(delivery: Delivery) -> str | None:
    """A re-driven message's outbox id (its event-id header), else None.

    Upstream submissions have no message identity: they are deduplicated by (source, submission_id) in
    the submission log, which also catches the same submission sent twice at different offsets. A
    re-driven original may be no valid submission at all, so it is known by the id intake's outbox gave
    it: a relay that sends it again after a crash does not re-drive (or reject) it twice.
    """
    headers = dict(delivery.headers)
    if REDRIVE_HEADER not in headers or EVENT_ID_HEADER not in headers:
        return None
    return "redrive:" + headers[EVENT_ID_HEADER].decode("ascii", errors="replace")


def upstream_consumer(pool: Pool, schema: str, group: str, admission: Admission) -> CheckpointedConsumer:
    return policy_consumer(pool, schema, group, admission, redrive_identity)


def subscribe_upstream(
    broker: KafkaBroker,
    pool: Pool,
    admission: Admission,
    *,
    schema: str,
    group: str,
    topic: str,
    max_records: int,
) -> BatchPipeline:
    return subscribe_policy(
        broker, upstream_consumer(pool, schema, group, admission), admission, topic, max_records=max_records
    )
