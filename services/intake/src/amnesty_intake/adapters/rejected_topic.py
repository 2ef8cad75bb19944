"""The rejected topic read back from Kafka: every partition from its beginning to its end as of now."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from amnesty_contracts import RejectedMessage
from amnesty_intake.domain.redrives import Rejected, RejectedId
from amnesty_runtime.kafka_client import KafkaClientOptions


class NoSuchTopicError(Exception):
    """The topic to read does not exist on the cluster."""


class KafkaRejectedTopic:
    """``RejectedTopic`` on a Kafka cluster; records that are no rejected message are skipped and kept
    in ``unreadable`` (another producer's mistake must not hide the rest). ``progress`` hears how many
    records were read of how many there are, after each fetch."""

    def __init__(
        self,
        kafka: KafkaClientOptions,
        topic: str,
        progress: Callable[[int, int], None] = lambda _done, _total: None,
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._progress = progress
        self.unreadable: list[RejectedId] = []

    async def read(self) -> AsyncIterator[Rejected]:
        partitions = await self._partitions()
        # No consumer group: partitions are assigned by hand and nothing is committed.
        consumer = AIOKafkaConsumer(
            **self._kafka.aiokafka(), enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            starts = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
            total = sum(ends[tp] - starts[tp] for tp in partitions)
            done = 0
            await consumer.seek_to_beginning(*partitions)
            pending = {tp for tp in partitions if ends[tp] > starts[tp]}
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=500)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset < ends[tp]:
                            done += 1
                            rejected = self._decoded(tp.partition, record.offset, record.key, record.value)
                            if rejected is not None:
                                yield rejected
                self._progress(done, total)
                pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        finally:
            await consumer.stop()

    def _decoded(
        self, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> Rejected | None:
        rejected_id = RejectedId(partition, offset)
        try:
            return Rejected(rejected_id, key, RejectedMessage.model_validate_json(value or b""))
        except ValidationError:
            self.unreadable.append(rejected_id)
            return None

    async def _partitions(self) -> list[TopicPartition]:
        # The admin client asks the broker; a consumer's metadata may not know a topic created just now.
        admin = AIOKafkaAdminClient(**self._kafka.aiokafka())
        await admin.start()
        try:
            (description,) = await admin.describe_topics([self._topic])
        finally:
            await admin.close()
        if description.get("error_code") or not description["partitions"]:
            raise NoSuchTopicError(f"topic {self._topic} does not exist on {self._kafka.bootstrap_servers}")
        return [TopicPartition(self._topic, p["partition"]) for p in description["partitions"]]
