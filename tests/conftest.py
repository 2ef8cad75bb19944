"""Session fixtures: the real Kafka broker and PostgreSQL, brought up once for the whole run.

With DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS set, the given infrastructure is used and nothing starts.
A stack that was already running (`make up`) is reused and left running; one started here is stopped
at the end, so a CI run leaves no process behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack import Endpoints, Stack


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
