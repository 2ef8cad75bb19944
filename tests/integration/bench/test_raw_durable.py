"""The durable forwarders' rows on the real PostgreSQL: what each role records for a batch."""

from __future__ import annotations

import uuid

import asyncpg
import orjson
from aiokafka.structs import ConsumerRecord

from amnesty_eventstore import Pool
from amnesty_runtime.stack import Endpoints
from tests.bench.raw_durable import create_schemas, drop_schemas, published, record_batch, schema_of


def _record(topic: str, offset: int, key: str, value: dict[str, str]) -> ConsumerRecord[bytes, bytes]:
    raw = orjson.dumps(value)
    return ConsumerRecord(topic, 1, offset, 0, 0, key.encode(), raw, None, len(key), len(raw), [])


CASE = {"type": "CaseOpened", "absent_since": "2024-03-01", "region": "UA-32"}
RETURN = {"type": "VoluntaryReturn", "returned_on": "2024-12-01"}


async def test_intake_records_the_log_the_events_and_their_outbox_then_the_relay_empties_it(
    endpoints: Endpoints, admin_pool: Pool
) -> None:
    tag = uuid.uuid4().hex[:8]
    conn = await asyncpg.connect(endpoints.admin_database_url)
    try:
        await create_schemas(conn, tag)
        await conn.execute(f'SET search_path TO "{schema_of(tag, "intake")}"')
        records = [_record("up", 7, "erdr:1", CASE), _record("up", 8, "army-plus:1", RETURN)]
        onward = [(r.key, r.value or b"") for r in records]

        outbox = await record_batch(conn, "intake", records, onward, "cases")

        assert await conn.fetchval("SELECT count(*) FROM submissions") == 2
        events = await conn.fetch("SELECT stream_id, data FROM events ORDER BY position")
        assert [(e["stream_id"], orjson.loads(e["data"])) for e in events] == [
            ("erdr:1", CASE),
            ("army-plus:1", RETURN),
        ]
        assert await conn.fetchval("SELECT next_offset FROM checkpoints WHERE topic = 'up'") == 9
        assert len(outbox) == 2
        await published(conn, outbox)
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await drop_schemas(conn, tag)
        await conn.close()


async def test_statistics_keeps_each_persons_state_and_adds_up_its_daily_counts(
    endpoints: Endpoints, admin_pool: Pool
) -> None:
    tag = uuid.uuid4().hex[:8]
    conn = await asyncpg.connect(endpoints.admin_database_url)
    try:
        await create_schemas(conn, tag)
        await conn.execute(f'SET search_path TO "{schema_of(tag, "statistics")}"')
        first = [_record("t.cases", 0, "a", CASE), _record("t.cases", 1, "b", CASE)]
        second = [_record("t.cases", 2, "c", RETURN), _record("t.decisions", 0, "c", RETURN)]

        assert await record_batch(conn, "statistics", first, [], None) == []
        await record_batch(conn, "statistics", second, [], None)

        assert await conn.fetchval("SELECT count(*) FROM persons") == 3
        assert sorted(
            tuple(r) for r in await conn.fetch("SELECT metric, day::text, region, value FROM daily")
        ) == [
            ("cases", "2024-03-01", "UA-32", 2),
            ("grants", "2024-12-01", "", 1),
            ("returns", "2024-12-01", "", 1),
        ]
        assert await conn.fetchval("SELECT count(*) FROM checkpoints") == 2
    finally:
        await drop_schemas(conn, tag)
        await conn.close()
