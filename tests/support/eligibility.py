"""The eligibility service as a process under test (its console script, as in production), with its own
schema, topics and consumer group, and the ways a test feeds it and reads what it decided.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from amnesty_contracts import (
    CASE_EVENT_ADAPTER,
    CaseEvent,
    DecisionEvent,
    Rejection,
    case_event_document,
    new_event_id,
    parse_decision_event,
    validate_submission,
)
from amnesty_eventstore import Pool
from amnesty_eventstore.outbox_relay import EVENT_ID_HEADER, create_producer
from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.stack import Endpoints
from amnesty_runtime.stack.ports import free_port
from tests.support.kafka import create_topics, delete_topics, end_offsets, read_all
from tests.support.processes import ServiceProcess
from tests.support.provenance import key_environment, signer
from tests.support.waiting import checkpoints_cover, eventually

Submission = dict[str, Any]


@dataclass
class EligibilityUnderTest:
    process: ServiceProcess
    schema: str
    cases: str
    decisions: str
    rejected: str
    bootstrap: KafkaClientOptions
    pool: Pool

    async def consumed_everything(self, timeout_s: float = 60.0) -> None:
        """Wait until eligibility's checkpoints cover every message on its cases topic."""
        await checkpoints_cover(
            self.pool, self.schema, await end_offsets(self.bootstrap, self.cases), timeout_s
        )

    async def published_everything(self, timeout_s: float = 60.0) -> None:
        """Wait until the outbox relay has published every decision and rejection."""

        async def pending() -> int:
            return int(await self.pool.fetchval(f'SELECT count(*) FROM "{self.schema}".outbox'))

        await eventually(pending, lambda n: n == 0, timeout_s)

    async def settled(self, timeout_s: float = 60.0) -> None:
        await self.consumed_everything(timeout_s)
        await self.published_everything(timeout_s)

    async def published_decisions(self) -> list[tuple[str, DecisionEvent]]:
        """The decisions on the decisions topic, with the `event-id` header each was published under."""
        decisions = []
        for record in await read_all(self.bootstrap, self.decisions):
            event = parse_decision_event(record.value or b"")
            assert not isinstance(event, Rejection), event
            assert record.key == event.person.encode(), "decisions are keyed by the person"
            decisions.append((dict(record.headers)[EVENT_ID_HEADER].decode(), event))
        return decisions

    async def stored_decisions(self) -> list[DecisionEvent]:
        """The decisions in the persons' streams, stream by stream, in stream order."""
        rows = await self.pool.fetch(
            f"SELECT data::text FROM \"{self.schema}\".events WHERE starts_with(stream_id, 'person-') "
            "AND type = ANY($1::text[]) ORDER BY stream_id, stream_version",
            ["AmnestyGranted", "AmnestyDenied", "EligibilityPending", "AmnestyRevoked"],
        )
        decisions = []
        for row in rows:
            event = parse_decision_event(row[0].encode())
            assert not isinstance(event, Rejection), event
            decisions.append(event)
        return decisions


@asynccontextmanager
async def eligibility_under_test(
    endpoints: Endpoints,
    admin_pool: Pool,
    logs: Path,
    *,
    batch_max_records: int = 100,
    cases_topic: str | None = None,
) -> AsyncIterator[EligibilityUnderTest]:
    """An eligibility process (not started yet) on a fresh schema and fresh topics; all removed afterwards.

    With `cases_topic` (e.g. the cases topic of an intake under test) it reads that one instead of its own.
    """
    tag = uuid.uuid4().hex[:10]
    schema = f"eligibility_{tag}"
    own = {name: f"test.{tag}.{name}" for name in ("cases", "decisions", "rejected")}
    topics = own | ({"cases": cases_topic} if cases_topic is not None else {})
    created = [name for name in own.values() if name in topics.values()]
    await admin_pool.execute(f'CREATE SCHEMA "{schema}"')
    await create_topics(endpoints.kafka_admin, created)
    port = free_port()
    env = {
        "AMNESTY_ELIGIBILITY_DATABASE_URL": endpoints.admin_database_url,
        # The fixtures' topics are test.*: the service under test logs in as the admin.
        **endpoints.kafka_admin.environment(),
        "AMNESTY_ELIGIBILITY_SCHEMA_NAME": schema,
        "AMNESTY_ELIGIBILITY_CONSUMER_GROUP": f"eligibility-{tag}",
        "AMNESTY_ELIGIBILITY_CASES_TOPIC": topics["cases"],
        "AMNESTY_ELIGIBILITY_DECISIONS_TOPIC": topics["decisions"],
        "AMNESTY_ELIGIBILITY_REJECTED_TOPIC": topics["rejected"],
        "AMNESTY_ELIGIBILITY_HTTP_PORT": str(port),
        "AMNESTY_ELIGIBILITY_LOG_LEVEL": "INFO",
        "AMNESTY_ELIGIBILITY_BATCH_MAX_RECORDS": str(batch_max_records),
    } | key_environment("eligibility")
    service = ServiceProcess("amnesty-eligibility", env, logs, port)
    try:
        yield EligibilityUnderTest(
            service,
            schema,
            topics["cases"],
            topics["decisions"],
            topics["rejected"],
            endpoints.kafka_admin,
            admin_pool,
        )
    finally:
        await service.stop()
        await admin_pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await delete_topics(endpoints.kafka_admin, created)


def pseudonym(raw: str, prefix: str) -> str:
    """A stand-in for intake's keyed pseudonyms: stable, and never the raw identifier."""
    return f"{prefix}_{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


@dataclass
class CaseEventsInput:
    """Feeds eligibility as intake does: each submission recorded as its case event (pseudonymized),
    published to the cases topic keyed by the person with the `event-id` header of the outbox relay.

    A submission sent again is published again as the same event (same event id), as a relay re-sends.
    When intake runs beside eligibility in these tests, an input publishing the raw submissions to
    intake's upstream topic (with eligibility reading intake's cases topic) replaces this one.
    """

    bootstrap: KafkaClientOptions
    topic: str
    recorded: dict[tuple[str, str], CaseEvent] = field(default_factory=dict)

    def event_of(self, submission: Submission) -> CaseEvent:
        key = (submission["source"], submission["submission_id"])
        if key not in self.recorded:
            valid = validate_submission(submission, today=date(2026, 1, 1))
            assert not isinstance(valid, Rejection), valid
            event_id = new_event_id()
            document = case_event_document(
                valid,
                person=pseudonym(submission["person_id"], "p"),
                pseudonymize_case=lambda number: pseudonym(number, "c"),
                # Kept as sent, so a test can find a decision by the return it named.
                pseudonymize_submission_id=str,
                pseudonymize_unit=lambda unit: pseudonym(unit, "u"),
                recorded_at=datetime.now(UTC),
                correlation_id=event_id,
                causation_id=event_id,
                event_id=event_id,
            )
            self.recorded[key] = CASE_EVENT_ADAPTER.validate_python(document)
        return self.recorded[key]

    async def submit(self, submissions: Sequence[Submission]) -> None:
        await self.publish_raw([(self.event_of(s).person.encode(), self.event_of(s)) for s in submissions])

    async def publish_raw(self, messages: Sequence[tuple[bytes, CaseEvent | bytes]]) -> None:
        producer = create_producer(self.bootstrap.aiokafka(), "eligibility-test-input")
        await producer.start()
        try:
            for key, message in messages:  # in order: tests reason about what comes after what
                if isinstance(message, bytes):
                    headers = signer("intake").headers(self.topic, key, message)
                    await producer.send_and_wait(self.topic, message, key=key, headers=headers)
                else:
                    value = message.model_dump_json().encode()
                    headers = [
                        (EVENT_ID_HEADER, str(message.event_id).encode()),
                        *signer("intake").headers(self.topic, key, value),
                    ]
                    await producer.send_and_wait(self.topic, value, key=key, headers=headers)
        finally:
            await producer.stop()
