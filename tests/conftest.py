"""Session fixtures: the real Kafka broker and PostgreSQL, brought up once for the whole run.

With DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS set, the given infrastructure is used and nothing starts.
A stack that was already running (`make up`) is reused and left running; one started here is stopped
at the end, so a CI run leaves no process behind.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from amnesty_eventstore import Pool, create_pool, migrate
from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Endpoints, Stack

# A failed test's report is redacted of passwords before it reaches the CI log (a hook, by its name).
from tests.support.redaction import pytest_runtest_makereport  # noqa: F401


@pytest.fixture(scope="session")
async def stack() -> AsyncIterator[Stack]:
    stack = Stack(InfraSettings())
    already_running = stack.kafka.running() is not None and stack.postgres.running() is not None
    await stack.up()
    yield stack
    if not already_running:
        stack.down()


@pytest.fixture(scope="session")
def endpoints(stack: Stack) -> Endpoints:
    return stack.endpoints


@pytest.fixture(scope="session")
async def admin_pool(endpoints: Endpoints) -> AsyncIterator[Pool]:
    pool = await create_pool(endpoints.admin_database_url, min_size=1, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture
async def fresh_schema(admin_pool: Pool) -> AsyncIterator[str]:
    """A new schema with the event store's migrations applied; dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await admin_pool.execute(f'CREATE SCHEMA "{schema}"')
    await migrate(admin_pool, schema)
    yield schema
    await admin_pool.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
async def fresh_topic(endpoints: Endpoints) -> AsyncIterator[str]:
    """A new three-partition topic, so a test reads only its own messages; deleted afterwards."""
    name = f"test.{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(**endpoints.kafka_admin.aiokafka())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()
