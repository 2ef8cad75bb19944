"""The intake service as a process under test: its own schema, topics and consumer group."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amnesty_eventstore import Pool
from amnesty_intake.domain.pseudonyms import Pseudonymizer
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.stack import Endpoints
from amnesty_runtime.stack.ports import free_port
from tests.support.kafka import create_topics, delete_topics, end_offsets, kafka_test_broker
from tests.support.processes import ServiceProcess
from tests.support.provenance import key_environment
from tests.support.waiting import checkpoints_cover, eventually

TOKEN = "test-token-" + "x" * 24
"""The operator token: may submit as any source."""
SOURCE_TOKENS = {"erdr": "test-erdr-token-" + "e" * 24, "court-registry": "test-courts-token-" + "c" * 24}
"""Upstream tokens, each bound to its source."""
PSEUDONYM_KEY = "test-pseudonym-key-" + "k" * 32


def recorded_submission_id(submission_id: str) -> str:
    """The submission_id as intake under test records it in its events (a keyed digest)."""
    return Pseudonymizer(PSEUDONYM_KEY.encode()).submission_id(submission_id)


@dataclass
class IntakeUnderTest:
    process: ServiceProcess
    schema: str
    upstream: str
    cases: str
    rejected: str
    bootstrap: KafkaClientOptions
    pool: Pool

    async def publish(self, values: list[bytes]) -> None:
        async with kafka_test_broker(self.bootstrap) as producer:
            for value in values:  # in order: tests reason about what comes after what
                await producer.publish(value, self.upstream, key=b"k-" + str(len(value) % 7).encode())

    async def published_everything(self) -> None:
        """Wait until intake's outbox has drained (its relay deletes a row once Kafka acknowledged it)."""
        outbox = f'SELECT count(*) FROM "{self.schema}".outbox'
        await eventually(lambda: self.pool.fetchval(outbox), lambda n: n == 0)

    async def consumed_everything(self, timeout_s: float = 60.0) -> None:
        """Wait until intake's checkpoints cover every message on its upstream topic."""
        await checkpoints_cover(
            self.pool, self.schema, await end_offsets(self.bootstrap, self.upstream), timeout_s
        )


def submission(type_: str = "CaseOpened", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": type_,
        "source": "erdr",
        "submission_id": str(uuid.uuid4()),
        "person_id": "3012345678",
    }
    if type_ == "CaseOpened":
        base |= {
            "case_number": "12024100000001234",
            "article": "407",
            "absent_since": "2024-11-02",
            "registered_on": "2024-11-20",
            "region": "UA-48",
        }
    elif type_ == "VoluntaryReturn":
        base |= {"returned_on": "2025-01-15", "channel": "army-plus"}
    return base | fields


def encoded(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


@asynccontextmanager
async def intake_under_test(
    endpoints: Endpoints, admin_pool: Pool, logs: Path, extra_env: dict[str, str] | None = None
) -> AsyncIterator[IntakeUnderTest]:
    tag = uuid.uuid4().hex[:10]
    schema = f"intake_{tag}"
    topics = {name: f"test.{tag}.{name}" for name in ("upstream", "cases", "rejected")}
    await admin_pool.execute(f'CREATE SCHEMA "{schema}"')
    await create_topics(endpoints.kafka_admin, list(topics.values()))
    port = free_port()
    tokens_file = logs.with_name(f"{logs.name}.source-tokens.json")
    tokens_file.write_text(json.dumps(SOURCE_TOKENS))
    env = (
        {
            "AMNESTY_INTAKE_SOURCE_TOKENS_FILE": str(tokens_file),
            "AMNESTY_PROFILE": "production",
            "AMNESTY_PSEUDONYM_KEY": PSEUDONYM_KEY,
            "AMNESTY_INTAKE_API_TOKEN": TOKEN,
            "AMNESTY_INTAKE_DATABASE_URL": endpoints.admin_database_url,
            # The fixtures' topics are test.*: the service under test logs in as the admin.
            **endpoints.kafka_admin.environment(),
            "AMNESTY_INTAKE_SCHEMA_NAME": schema,
            "AMNESTY_INTAKE_CONSUMER_GROUP": f"intake-{tag}",
            "AMNESTY_INTAKE_UPSTREAM_TOPIC": topics["upstream"],
            "AMNESTY_INTAKE_CASES_TOPIC": topics["cases"],
            "AMNESTY_INTAKE_REJECTED_TOPIC": topics["rejected"],
            "AMNESTY_INTAKE_HTTP_PORT": str(port),
            "AMNESTY_INTAKE_LOG_LEVEL": "DEBUG",
            "AMNESTY_INTAKE_BATCH_MAX_RECORDS": "100",
        }
        | key_environment("intake")
        | (extra_env or {})
    )
    service = ServiceProcess("amnesty-intake", env, logs, port)
    try:
        yield IntakeUnderTest(
            service,
            schema,
            topics["upstream"],
            topics["cases"],
            topics["rejected"],
            endpoints.kafka_admin,
            admin_pool,
        )
    finally:
        await service.stop()
        await admin_pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await delete_topics(endpoints.kafka_admin, list(topics.values()))
