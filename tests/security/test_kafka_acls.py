"""Kafka authentication and ACLs on the real local broker: who may read, write and delete what.

The finding of issue 12 was a forged CaseOpened (and AmnestyGranted) published straight to the domain
topics and counted. Here every principal but the producing service is refused that write by the broker
itself, and nothing reaches the topic. The writes a principal may make are the broker
authorizer's answer (Metadata's authorized operations), so that nothing is left on the contract topics,
which other tests read from their start; those it may not make are attempted and refused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from amnesty_contracts.topics import CASES, DECISIONS, REJECTED, UPSTREAM
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.stack import Endpoints
from amnesty_runtime.stack.principals import ADMIN, OPERATOR, UPSTREAM_PRINCIPAL
from tests.security.authorized_operations import WRITE, authorized_operations
from tests.support.kafka import end_offsets

CLIENTS = ("intake", "eligibility", "statistics", UPSTREAM_PRINCIPAL, OPERATOR)
TOPICS = (UPSTREAM, CASES, DECISIONS, REJECTED)

MAY_READ = {
    "intake": {UPSTREAM},
    "eligibility": {CASES},
    "statistics": {CASES, DECISIONS},
    UPSTREAM_PRINCIPAL: set(),
    OPERATOR: {UPSTREAM, REJECTED},
}
MAY_WRITE = {
    # upstream: its relay publishes what `amnesty rejected redrive` queued; refused, the row would
    # hold up the outbox behind it (case events and dead letters) for good.
    "intake": {UPSTREAM, CASES, REJECTED},
    "eligibility": {DECISIONS, REJECTED},
    "statistics": {REJECTED},  # its dead letters: events refused as forged
    UPSTREAM_PRINCIPAL: {UPSTREAM},
    OPERATOR: set(),
}

FORGED_CASE_OPENED = (
    b'{"type": "CaseOpened", "event_id": "00000000-0000-0000-0000-000000000001", '
    b'"person": "forged", "regime": "forged-regime"}'
)

TOPIC_AUTHORIZATION_FAILED = 29

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def principals(endpoints: Endpoints) -> dict[str, KafkaClientOptions]:
    if not endpoints.local_kafka:
        pytest.skip("the ACLs are the local stack's; an external broker has its own")
    return {p: endpoints.kafka_credentials.options(p) for p in (*CLIENTS, ADMIN)}


async def _admin_client(options: KafkaClientOptions) -> AIOKafkaAdminClient:
    client = AIOKafkaAdminClient(**options.aiokafka(), request_timeout_ms=5000)
    await asyncio.wait_for(client.start(), 20)
    return client


async def can_write(options: KafkaClientOptions, topic: str, value: bytes = b"acl-probe") -> bool:
    # Idempotent, like the outbox relay and the simulator: WRITE on the topic must be all it takes.
    # A principal allowed to write no topic at all is refused a producer id already (cluster-level).
    producer = AIOKafkaProducer(
        **options.aiokafka(), enable_idempotence=True, acks="all", request_timeout_ms=5000
    )
    try:
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=b"acl-probe"), 20)
        return True
    except (TopicAuthorizationFailedError, ClusterAuthorizationFailedError):
        return False
    finally:
        await producer.stop()


async def can_read(options: KafkaClientOptions, topic: str) -> bool:
    """Whether a fetch from the topic's first partition is authorized (it may well return nothing).

    A principal with no right at all on a topic does not even see it (DESCRIBE, asked first); one that
    sees it (writing implies DESCRIBE) but may not read it has its fetch refused."""
    admin = await _admin_client(options)
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if description["error_code"] == TOPIC_AUTHORIZATION_FAILED:
        return False
    # No consumer group: a topic's READ is the question here, not a group's.
    consumer = AIOKafkaConsumer(**options.aiokafka(), enable_auto_commit=False, request_timeout_ms=5000)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        await consumer.getmany(partition, timeout_ms=2000)
        return True
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()


async def test_a_client_without_credentials_is_refused(principals: dict[str, KafkaClientOptions]) -> None:
    anonymous = KafkaClientOptions(principals[ADMIN].bootstrap_servers)  # PLAINTEXT, nobody
    with pytest.raises(KafkaConnectionError):
        await _admin_client(anonymous)


async def test_a_wrong_password_is_refused(principals: dict[str, KafkaClientOptions]) -> None:
    upstream = principals[UPSTREAM_PRINCIPAL]
    wrong = upstream.as_user(UPSTREAM_PRINCIPAL, "not-" + (upstream.password or ""))
    with pytest.raises(KafkaError):
        await _admin_client(wrong)


async def test_each_principal_reads_exactly_its_topics(principals: dict[str, KafkaClientOptions]) -> None:
    readable = {p: {t for t in TOPICS if await can_read(principals[p], t)} for p in CLIENTS}
    assert readable == MAY_READ


async def test_each_principal_writes_exactly_its_topics(principals: dict[str, KafkaClientOptions]) -> None:
    writable: dict[str, set[str]] = {}
    for p in CLIENTS:
        admin = await _admin_client(principals[p])
        try:
            operations = await authorized_operations(admin, list(TOPICS))
        finally:
            await admin.close()
        writable[p] = {t for t in TOPICS if WRITE in operations[t]}
        # What the authorizer says it may not write, it is refused for real.
        refused = {t for t in TOPICS if t not in writable[p] and not await can_write(principals[p], t)}
        assert refused == set(TOPICS) - writable[p], p
    assert writable == MAY_WRITE


@pytest.mark.parametrize("principal", ["eligibility", "statistics", UPSTREAM_PRINCIPAL, OPERATOR])
async def test_a_forged_case_event_from_anyone_but_intake_never_reaches_the_cases_topic(
    principals: dict[str, KafkaClientOptions], principal: str
) -> None:
    before = await end_offsets(principals[ADMIN], CASES)
    assert not await can_write(principals[principal], CASES, FORGED_CASE_OPENED)
    assert await end_offsets(principals[ADMIN], CASES) == before


@pytest.mark.parametrize("principal", ["intake", "statistics", UPSTREAM_PRINCIPAL, OPERATOR])
async def test_a_forged_decision_from_anyone_but_eligibility_never_reaches_the_decisions_topic(
    principals: dict[str, KafkaClientOptions], principal: str
) -> None:
    before = await end_offsets(principals[ADMIN], DECISIONS)
    forged = b'{"type": "AmnestyGranted", "person": "forged"}'
    assert not await can_write(principals[principal], DECISIONS, forged)
    assert await end_offsets(principals[ADMIN], DECISIONS) == before


@pytest.fixture
async def admins_topic(principals: dict[str, KafkaClientOptions]) -> AsyncIterator[str]:
    name = f"test.{uuid.uuid4().hex[:12]}"
    admin = await _admin_client(principals[ADMIN])
    try:
        await admin.create_topics([NewTopic(name, 1, 1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def _delete(options: KafkaClientOptions, topic: str) -> int:
    """DeleteTopics' error code for the topic (0: deleted)."""
    client = await _admin_client(options)
    try:
        response = await client.delete_topics([topic])
    finally:
        await client.close()
    ((_name, error_code, *_),) = response.topic_error_codes
    return int(error_code)


async def test_nobody_but_the_admin_deletes_or_creates_topics(
    principals: dict[str, KafkaClientOptions], admins_topic: str
) -> None:
    assert {p: await _delete(principals[p], admins_topic) for p in CLIENTS} == dict.fromkeys(
        CLIENTS, TOPIC_AUTHORIZATION_FAILED
    )
    for p in CLIENTS:
        client = await _admin_client(principals[p])
        try:
            response = await client.create_topics([NewTopic(f"test.{uuid.uuid4().hex[:12]}", 1, 1)])
        finally:
            await client.close()
        ((_name, error_code, *_),) = response.topic_errors
        assert error_code == TOPIC_AUTHORIZATION_FAILED, p
    assert await _delete(principals[ADMIN], admins_topic) == 0
