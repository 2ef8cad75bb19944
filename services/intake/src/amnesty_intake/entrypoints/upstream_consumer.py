"""The Kafka door: batches of amnesty.upstream.v1 admitted once each, checkpointed with intake's state."""

from __future__ import annotations

from collections.abc import Sequence

from amnesty_eventstore import DbConnection, Pool
from amnesty_eventstore.consumption import BatchHandler, CheckpointedConsumer, Delivery
from amnesty_intake.service_layer.admission import Admission, Incoming


def admit_deliveries(admission: Admission) -> BatchHandler:
    async def handle(conn: DbConnection, deliveries: Sequence[Delivery]) -> None:
        await admission.admit(
            conn, [Incoming(d.value, d.key, d.topic, d.partition, d.offset) for d in deliveries]
        )

    return handle


def upstream_consumer(pool: Pool, schema: str, group: str, admission: Admission) -> CheckpointedConsumer:
    # No message identity: upstream submissions are deduplicated by (source, submission_id) in the
    # submission log, which also catches the same submission sent twice at different offsets.
    return CheckpointedConsumer(pool, schema, group, admit_deliveries(admission), lambda _d: None)
