"""Payloads stored as json (migration 0011): kept as the text appended, read back as before the change,
and a store migrated with events in it answers retries and clashes of those events as before."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from amnesty_eventstore import (
    ANY,
    AppendRequest,
    AppendResult,
    EventIdConflict,
    NewEvent,
    Pool,
    append_many_in,
    migrate,
    read_streams,
)

from .conftest import schema_before

pytestmark = pytest.mark.integration

# Payloads of every JSON shape, and text that a round trip through jsonb writes otherwise (key order,
# spacing, escapes): what is read back must be the same values whichever form stored them.
PAYLOADS: list[dict[str, Any]] = [
    {"b": 1, "a": [1, 2.5, None, True], "nested": {"z": "ü", "y": {}}},
    {"text": 'quote " backslash \\ tab \t line \n', "cyrillic": "Київ", "emoji": "🙂"},
    {"big": 12345678901234567890, "negative": -1, "exponent": 1.5e-7},
]


def _events() -> list[NewEvent]:
    return [NewEvent(uuid.uuid4(), "CaseOpened", payload) for payload in PAYLOADS]


@pytest.fixture
async def before_0011(admin: asyncpg.Connection, pool: Pool, tmp_path: Path) -> AsyncIterator[str]:
    """A schema with the event store's migrations up to 0010: payloads stored as jsonb."""
    async with schema_before(admin, pool, tmp_path, "0011") as name:
        yield name


async def test_a_payload_is_stored_as_the_text_appended(pool: Pool, schema: str) -> None:
    events = [NewEvent(uuid.uuid4(), "CaseOpened", b'{"b":1,  "a" : [1,2.50]}')]
    async with pool.acquire() as conn:
        await append_many_in(conn, schema, [AppendRequest("s", events, ANY)])
        stored = await conn.fetchval(f'SELECT data::text FROM "{schema}".events')
        read = await read_streams(conn, schema, ["s"])
    assert stored == '{"b":1,  "a" : [1,2.50]}'
    assert read["s"][0].data == {"b": 1, "a": [1, 2.5]}


async def test_events_stored_before_the_change_read_and_answer_as_before(
    pool: Pool, before_0011: str
) -> None:
    first, second = _events(), _events()
    async with pool.acquire() as conn:
        await append_many_in(conn, before_0011, [AppendRequest("s", first, ANY)])
        before = await read_streams(conn, before_0011, ["s"])
        await migrate(pool, before_0011)  # 0011: the column rewritten as json
        assert (
            await conn.fetchval(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_schema = $1 AND table_name = 'events' AND column_name = 'data'",
                before_0011,
            )
            == "json"
        )
        after = await read_streams(conn, before_0011, ["s"])
        outcomes = await append_many_in(
            conn,
            before_0011,
            [
                AppendRequest("s", first, ANY),  # a retry of the append done before the change
                AppendRequest("t", [NewEvent(first[0].event_id, "CaseOpened", {"other": 1})], ANY),
                AppendRequest("s", second, ANY),
            ],
        )
        grown = await read_streams(conn, before_0011, ["s"])

    assert [(e.event_id, e.data) for e in after["s"]] == [(e.event_id, e.data) for e in before["s"]]
    assert [e.data for e in after["s"]] == PAYLOADS
    assert outcomes[0] == AppendResult("s", 1, 3)  # a duplicate: the original versions
    assert isinstance(outcomes[1], EventIdConflict)
    assert outcomes[2] == AppendResult("s", 4, 6)
    assert [e.data for e in grown["s"]] == PAYLOADS + PAYLOADS
