"""The stack creates topics with their retention, and puts a changed retention on topics that exist."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from amnesty_contracts.topics import CASES, REJECTED, UPSTREAM
from amnesty_runtime.stack import Endpoints
from amnesty_runtime.stack.errors import StackError
from amnesty_runtime.stack.topics import DAY_MS, UNLIMITED, TopicSpec, contract_topics, ensure_topics

pytestmark = pytest.mark.integration


@pytest.fixture
async def admin(endpoints: Endpoints) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(**endpoints.kafka_admin.aiokafka())
    await client.start()
    yield client
    await client.close()


async def config(admin: AIOKafkaAdminClient, topic: str, key: str) -> str:
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic, {key: None})])
    [(_error, _message, _type, _name, entries)] = response.resources
    return str(next(entry[1] for entry in entries if entry[0] == key))


async def test_a_topic_gets_its_retention_and_keeps_it_as_configured_later(
    endpoints: Endpoints, admin: AIOKafkaAdminClient
) -> None:
    name = f"test.retention.{uuid.uuid4().hex[:8]}"
    month = {"retention.ms": str(30 * DAY_MS), "retention.bytes": UNLIMITED}
    try:
        assert await ensure_topics(endpoints.kafka_admin, [TopicSpec(name, 1, month)]) == [name]
        assert await config(admin, name, "retention.ms") == str(30 * DAY_MS)
        # An operator's own setting on the topic survives the stack setting the retention again.
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, {**month, "max.message.bytes": "2000000"})]
        )
        week = {"retention.ms": str(7 * DAY_MS), "retention.bytes": UNLIMITED}
        assert await ensure_topics(endpoints.kafka_admin, [TopicSpec(name, 1, week)]) == []
        assert await config(admin, name, "retention.ms") == str(7 * DAY_MS)
        assert await config(admin, name, "max.message.bytes") == "2000000"
    finally:
        await admin.delete_topics([name])


async def test_a_topic_kafka_refuses_to_create_fails_the_start_with_kafkas_reason(
    endpoints: Endpoints, admin: AIOKafkaAdminClient
) -> None:
    """CreateTopics answers a refusal per topic and aiokafka raises nothing for it: unread, the stack
    said it had created a topic that did not exist, and the services stalled without a word."""
    refused, fine = f"test.refused.{uuid.uuid4().hex[:8]}", f"test.created.{uuid.uuid4().hex[:8]}"
    specs = [TopicSpec(refused, 1, {"retention.ms": "not-a-number"}), TopicSpec(fine, 1, {})]
    try:
        with pytest.raises(StackError, match=rf"{refused}: .*InvalidConfigurationError"):
            await ensure_topics(endpoints.kafka_admin, specs, timeout_s=10)
        assert refused not in await admin.list_topics()
    finally:
        await admin.delete_topics([fine])


async def test_a_topic_that_exists_with_other_partitions_fails_the_start(
    endpoints: Endpoints, admin: AIOKafkaAdminClient
) -> None:
    """A key's partition depends on the count: taken as it was, a topic created elsewhere with another
    count (or a changed AMNESTY_TOPIC_PARTITIONS) would split each person's history across partitions."""
    name = f"test.partitions.{uuid.uuid4().hex[:8]}"
    try:
        assert await ensure_topics(endpoints.kafka_admin, [TopicSpec(name, 1, {})]) == [name]
        with pytest.raises(StackError, match=rf"{name} has 1, configured 3"):
            await ensure_topics(endpoints.kafka_admin, [TopicSpec(name, 3, {})])
    finally:
        await admin.delete_topics([name])


async def test_a_compacted_topic_is_set_back_to_deletion_by_age(
    endpoints: Endpoints, admin: AIOKafkaAdminClient
) -> None:
    """Compaction keeps a person's last event only: a new projection could not be built from the start."""
    name = f"test.compacted.{uuid.uuid4().hex[:8]}"
    spec = next(s for s in contract_topics(1, {UPSTREAM: 30, REJECTED: 90}) if s.name == CASES)
    try:
        await ensure_topics(endpoints.kafka_admin, [TopicSpec(name, 1, {"cleanup.policy": "compact"})])
        assert await config(admin, name, "cleanup.policy") == "compact"
        await ensure_topics(endpoints.kafka_admin, [TopicSpec(name, 1, spec.config)])
        assert await config(admin, name, "cleanup.policy") == "delete"
    finally:
        await admin.delete_topics([name])
