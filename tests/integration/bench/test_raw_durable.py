"""The durable forwarders' rows on the real PostgreSQL: what each role records for a batch."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from amnesty_runtime.stack import Endpoints
from tests.bench.raw_durable import Role, create_schemas, drop_schemas, record_batch, schema_of
from tests.support.kafka import OutgoingRecord

pytestmark = pytest.mark.integration

CASE = {"type": "CaseOpened", "person_id": "p1", "absent_since": "2024-03-01", "region": "UA-32"}
RETURN = {"type": "VoluntaryReturn", "person_id": "p1", "returned_on": "2024-12-01"}


def _record(topic: str, offset: int, key: str, value: dict[str, str]) -> ConsumerRecord[bytes, bytes]:
    raw = orjson.dumps(value)
    return ConsumerRecord(topic, 1, offset, 0, 0, key.encode(), raw, None, len(key), len(raw), [])


Recorder = Callable[[Role], Awaitable[asyncpg.Connection]]


@pytest.fixture
async def recording_as(endpoints: Endpoints) -> AsyncIterator[Recorder]:
    """A connection to fresh forwarders' schemas, set to record as the role given."""
    tag = uuid.uuid4().hex[:8]
    conn = await asyncpg.connect(endpoints.admin_database_url)

    async def as_role(role: Role) -> asyncpg.Connection:
        await conn.execute(f'SET search_path TO "{schema_of(tag, role)}"')
        return conn

    try:
        await create_schemas(conn, tag)
        yield as_role
    finally:
        await drop_schemas(conn, tag)
        await conn.close()


async def _events(conn: asyncpg.Connection) -> list[tuple[str, Any]]:
    rows = await conn.fetch("SELECT stream_id, data FROM events ORDER BY position")
    return [(r["stream_id"], orjson.loads(r["data"])) for r in rows]


async def test_intake_records_its_log_events_outbox_and_checkpoint(
    recording_as: Recorder,
) -> None:
    conn = await recording_as("intake")
    records = [_record("up", 7, "erdr:1", CASE), _record("up", 8, "army-plus:1", RETURN)]
    out = [OutgoingRecord("cases", r.key, r.value or b"") for r in records]

    await record_batch(conn, "intake", records, out, itertools.count(1))

    assert await conn.fetchval("SELECT count(*) FROM submissions") == 2
    assert await _events(conn) == [("p1", CASE), ("p1", RETURN)]
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'cases'") == 2
    assert await conn.fetchval("SELECT next_offset FROM checkpoints WHERE topic = 'up'") == 9


async def test_eligibility_keeps_every_case_event_as_a_fact_and_each_decision(
    recording_as: Recorder,
) -> None:
    conn = await recording_as("eligibility")
    versions = itertools.count(1)
    case, back = _record("t.cases", 0, "p1", CASE), _record("t.cases", 1, "p1", RETURN)

    await record_batch(conn, "eligibility", [case], [], versions)
    await record_batch(
        conn, "eligibility", [back], [OutgoingRecord("decisions", b"p1", back.value or b"")], versions
    )

    assert await _events(conn) == [("p1", CASE), ("p1", RETURN), ("p1", RETURN)]
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'decisions'") == 1


async def test_statistics_keeps_each_persons_state_and_adds_up_daily_counts_and_totals(
    recording_as: Recorder,
) -> None:
    conn = await recording_as("statistics")
    versions = itertools.count(1)
    other = CASE | {"person_id": "p2"}

    batches = [
        [_record("t.cases", 0, "a", CASE), _record("t.cases", 1, "b", other)],
        [_record("t.cases", 2, "c", RETURN), _record("t.decisions", 0, "c", RETURN)],
    ]

    for batch in batches:
        await record_batch(conn, "statistics", batch, [], versions)

    assert await conn.fetchval("SELECT count(*) FROM persons") == 2
    daily = await conn.fetch("SELECT metric, day::text, region, value FROM daily ORDER BY metric")
    assert [tuple(r) for r in daily] == [
        ("cases", "2024-03-01", "UA-32", 2),
        ("grants", "2024-12-01", "", 1),
        ("returns", "2024-12-01", "", 1),
    ]
    totals = await conn.fetch("SELECT metric, value FROM totals ORDER BY metric")
    assert [tuple(r) for r in totals] == [("cases", 2), ("grants", 1), ("returns", 1)]
    assert await conn.fetchval("SELECT count(*) FROM checkpoints") == 2
