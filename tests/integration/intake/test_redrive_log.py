"""The redrive log on PostgreSQL: a redrive is recorded with its outbox row in one transaction, once."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest

from amnesty_eventstore import EVENTSTORE_MIGRATIONS, Pool, migrate
from amnesty_intake.adapters.redrive_log import PostgresRedriveLog
from amnesty_intake.domain.redrives import RejectedId
from amnesty_intake.entrypoint import MIGRATIONS
from tests.unit.intake.rejected_examples import rejected

pytestmark = pytest.mark.integration


@pytest.fixture
async def intake_schema(admin_pool: Pool) -> AsyncIterator[str]:
    schema = f"intake_{uuid.uuid4().hex[:10]}"
    await admin_pool.execute(f'CREATE SCHEMA "{schema}"')
    await migrate(admin_pool, schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
    yield schema
    await admin_pool.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def test_a_redrive_is_queued_with_the_original_key_and_where_it_came_from(
    admin_pool: Pool, intake_schema: str
) -> None:
    log = PostgresRedriveLog(admin_pool, intake_schema, "rejected", "upstream")
    first, second = rejected(2, 17, b"first"), rejected(0, 3, b"second")
    assert await log.record([first, second]) == [RejectedId(2, 17), RejectedId(0, 3)]
    rows = await admin_pool.fetch(
        f'SELECT event_id, topic, key, value, headers FROM "{intake_schema}".outbox ORDER BY id'
    )
    assert [(r["topic"], r["key"], r["value"]) for r in rows] == [
        ("upstream", b"record-1", b"first"),
        ("upstream", b"record-1", b"second"),
    ]
    assert [json.loads(r["headers"]) for r in rows] == [
        {"redrive-of": "rejected:2:17"},
        {"redrive-of": "rejected:0:3"},
    ]
    logged = await admin_pool.fetch(f'SELECT event_id FROM "{intake_schema}".redrive_log')
    assert {r["event_id"] for r in logged} == {r["event_id"] for r in rows}


async def test_what_was_recorded_before_is_neither_recorded_nor_queued_again(
    admin_pool: Pool, intake_schema: str
) -> None:
    log = PostgresRedriveLog(admin_pool, intake_schema, "rejected", "upstream")
    await log.record([rejected(2, 17, b"first")])
    assert await log.record([rejected(2, 17, b"first"), rejected(1, 1, b"new")]) == [RejectedId(1, 1)]
    outbox = await admin_pool.fetch(f'SELECT value FROM "{intake_schema}".outbox ORDER BY id')
    assert [r["value"] for r in outbox] == [b"first", b"new"]


async def test_a_redrive_is_queued_until_the_relay_has_sent_it(admin_pool: Pool, intake_schema: str) -> None:
    log = PostgresRedriveLog(admin_pool, intake_schema, "rejected", "upstream")
    await log.record([rejected(2, 17)])
    assert (await log.redrives())[RejectedId(2, 17)].queued
    await admin_pool.execute(f'DELETE FROM "{intake_schema}".outbox')  # as the relay does once Kafka has it
    assert not (await log.redrives())[RejectedId(2, 17)].queued
    other_topic = PostgresRedriveLog(admin_pool, intake_schema, "another.rejected", "upstream")
    assert await other_topic.redrives() == {}


async def test_a_schema_without_the_redrive_log_has_re_driven_nothing(admin_pool: Pool) -> None:
    schema = f"intake_{uuid.uuid4().hex[:10]}"
    await admin_pool.execute(f'CREATE SCHEMA "{schema}"')
    try:
        assert await PostgresRedriveLog(admin_pool, schema, "rejected", "upstream").redrives() == {}
    finally:
        await admin_pool.execute(f'DROP SCHEMA "{schema}"')
