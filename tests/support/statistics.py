"""The statistics service as a process under test: its own schema, topics and consumer group."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from amnesty_contracts import Event
from amnesty_eventstore import Pool
from amnesty_eventstore.outbox_relay import EVENT_ID_HEADER, create_producer
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.stack import Endpoints
from amnesty_runtime.stack.ports import free_port
from amnesty_statistics.settings import StatisticsSettings
from tests.support.domain_events import encoded
from tests.support.kafka import create_topics, delete_topics, end_offsets
from tests.support.processes import ServiceProcess
from tests.support.provenance import key_environment, signer
from tests.support.waiting import eventually

DailyStats = dict[tuple[str, str, str, str, str, str], int]
"""The daily_stats view as {(metric, day, region, article, regime, reason): value}, zero rows left out."""


@dataclass
class StatisticsUnderTest:
    process: ServiceProcess
    schema: str
    cases: str
    decisions: str
    group: str
    bootstrap: KafkaClientOptions
    pool: Pool
    rejected: str
    """Where the service dead-letters events whose producer is not proven."""

    @property
    def env(self) -> dict[str, str]:
        return self.process.env

    def settings(self) -> StatisticsSettings:
        """The service's settings, for running its parts (a rebuild) in the test's process."""
        return StatisticsSettings(
            schema_name=self.schema,
            consumer_group=self.group,
            cases_topic=self.cases,
            decisions_topic=self.decisions,
            batch_max_records=100,
            verifying_key_files=json.loads(self.env["AMNESTY_STATISTICS_VERIFYING_KEY_FILES"]),
        )

    async def launch(self) -> None:
        """Start the process without waiting for it to be ready: it catches up meanwhile, so that a test
        can kill it in the middle of its batches."""
        await self.process.launch()

    async def publish(self, events: Sequence[Event]) -> None:
        """As the producers' outbox relays do: keyed by person, with the event-id header, in order."""
        producer = create_producer(self.bootstrap.aiokafka(), f"test-{self.schema}")
        await producer.start()
        try:
            sent = []
            for event in events:
                decision = event.type in _DECISION_TYPES
                topic, value, key = (
                    self.decisions if decision else self.cases,
                    encoded(event),
                    event.person.encode(),
                )
                headers = [
                    (EVENT_ID_HEADER, str(event.event_id).encode()),
                    *signer("eligibility" if decision else "intake").headers(topic, key, value),
                ]
                sent.append(await producer.send(topic, value, key=key, headers=headers))
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

    async def publish_raw(self, topic: str, values: Sequence[bytes]) -> None:
        """Bytes that are not an event, as a broken producer might send."""
        producer = create_producer(self.bootstrap.aiokafka(), f"test-{self.schema}")
        await producer.start()
        try:
            # Signed as the topic's producer: a genuine producer's broken bytes, not a forgery.
            producer_of = "eligibility" if topic == self.decisions else "intake"
            sent = [
                await producer.send(
                    topic, value, key=b"raw", headers=signer(producer_of).headers(topic, b"raw", value)
                )
                for value in values
            ]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

    async def active_version(self) -> int:
        return int(
            await self.pool.fetchval(
                f"SELECT version FROM \"{self.schema}\".projection_versions WHERE status = 'active'"
            )
        )

    async def caught_up(self, timeout_s: float = 60.0) -> None:
        """Wait until the active version's checkpoints cover every message on both topics."""
        total = await end_offsets(self.bootstrap, self.cases) + await end_offsets(
            self.bootstrap, self.decisions
        )

        async def applied() -> int:
            group = f"{self.group}-v{await self.active_version()}"
            value = await self.pool.fetchval(
                f'SELECT coalesce(sum(next_offset), 0) FROM "{self.schema}".consumer_checkpoints '
                "WHERE consumer_group = $1",
                group,
            )
            return int(value)

        await eventually(applied, lambda n: n >= total, timeout_s)

    async def daily_stats(self) -> DailyStats:
        rows = await self.pool.fetch(
            f'SELECT metric, day, region, article, regime, reason, value FROM "{self.schema}".daily_stats '
            "WHERE value <> 0"
        )
        return {
            (r["metric"], r["day"].isoformat(), r["region"], r["article"], r["regime"], r["reason"]): r[
                "value"
            ]
            for r in rows
        }

    async def tables(self) -> set[str]:
        rows = await self.pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", self.schema
        )
        return {r["table_name"] for r in rows}

    async def rebuild_command(self, *args: str) -> str:
        """`amnesty rebuild statistics` in a process of its own, with the service's environment."""
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "amnesty"),
            "rebuild",
            "statistics",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **self.env},  # noqa: TID251 - a child process inherits the environment
        )
        output, _ = await asyncio.wait_for(process.communicate(), 120)
        if process.returncode != 0:
            raise AssertionError(
                f"amnesty rebuild statistics exited {process.returncode}:\n{output.decode()}"
            )
        return output.decode()


_DECISION_TYPES = {"AmnestyGranted", "AmnestyDenied", "EligibilityPending", "AmnestyRevoked"}


@asynccontextmanager
async def statistics_under_test(
    endpoints: Endpoints,
    admin_pool: Pool,
    logs: Path,
    *,
    cases_topic: str | None = None,
    decisions_topic: str | None = None,
    **settings: str,
) -> AsyncIterator[StatisticsUnderTest]:
    """A statistics service (not started) on a fresh schema, consuming the given topics or fresh ones;
    ``settings`` override its environment (AMNESTY_STATISTICS_<NAME>)."""
    tag = uuid.uuid4().hex[:10]
    schema = f"statistics_{tag}"
    given = {"cases": cases_topic, "decisions": decisions_topic}
    fresh = {name: f"test.{tag}.{name}" for name, topic in given.items() if topic is None}
    topics = {name: topic or fresh[name] for name, topic in given.items()}
    group = f"statistics-{tag}"
    await admin_pool.execute(f'CREATE SCHEMA "{schema}"')
    rejected = f"test.{tag}.statistics-rejected"  # where its dead letters go: never the shared topic
    await create_topics(endpoints.kafka_admin, [*fresh.values(), rejected])
    port = free_port()
    env = (
        {
            "AMNESTY_STATISTICS_DATABASE_URL": endpoints.admin_database_url,
            # The fixtures' topics are test.*: the service under test logs in as the admin.
            **endpoints.kafka_admin.environment(),
            "AMNESTY_STATISTICS_SCHEMA_NAME": schema,
            "AMNESTY_STATISTICS_CONSUMER_GROUP": group,
            "AMNESTY_STATISTICS_CASES_TOPIC": topics["cases"],
            "AMNESTY_STATISTICS_DECISIONS_TOPIC": topics["decisions"],
            "AMNESTY_STATISTICS_HTTP_PORT": str(port),
            "AMNESTY_STATISTICS_LOG_LEVEL": "INFO",
            "AMNESTY_STATISTICS_BATCH_MAX_RECORDS": "100",
            "AMNESTY_STATISTICS_VERSION_POLL_S": "0.5",
            "AMNESTY_STATISTICS_RETIRED_GRACE_S": "1",
            "AMNESTY_STATISTICS_LAG_INTERVAL_S": "0.5",
            "AMNESTY_STATISTICS_FIGURES_REFRESH_S": "0.5",
            "AMNESTY_STATISTICS_REJECTED_TOPIC": rejected,
        }
        | key_environment("statistics")
        | {f"AMNESTY_STATISTICS_{name.upper()}": value for name, value in settings.items()}
    )
    service = ServiceProcess("amnesty-statistics", env, logs, port)
    try:
        yield StatisticsUnderTest(
            service,
            schema,
            topics["cases"],
            topics["decisions"],
            group,
            endpoints.kafka_admin,
            admin_pool,
            rejected,
        )
    finally:
        await service.stop()
        await admin_pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await delete_topics(endpoints.kafka_admin, [*fresh.values(), rejected])
