"""Old events are upgraded on read and never rewritten, whichever read a service uses."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import pytest

from amnesty_eventstore import (
    EventStore,
    NewEvent,
    Pool,
    RecordedEvent,
    Upcasters,
    catch_up,
    read_streams,
    streams_holding,
    walk_streams,
)

pytestmark = pytest.mark.integration


def returned_v1(n: int) -> NewEvent:
    return NewEvent(uuid.uuid4(), "VoluntaryReturn", {"schema_version": 1, "returned": f"2025-05-0{n}"})


def upcasters() -> Upcasters:
    registry = Upcasters()

    @registry.upcaster("VoluntaryReturn", 1)
    def rename_returned(payload: dict[str, Any]) -> dict[str, Any]:
        rest = {k: v for k, v in payload.items() if k != "returned"}
        return {**rest, "schema_version": 2, "returned_on": payload["returned"]}

    @registry.upcaster("VoluntaryReturn", 2)
    def add_channel(payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "schema_version": 3, "channel": "unknown"}

    return registry


async def _caught_up(pool: Pool, schema: str, count: int) -> list[RecordedEvent]:
    deadline = time.monotonic() + 30
    while True:
        async with pool.acquire() as conn:
            batches = catch_up(conn, schema, upcasters=upcasters())
            async with contextlib.aclosing(batches):
                events = [event async for batch in batches for event in batch]
        if len(events) >= count or time.monotonic() > deadline:
            return events
        await asyncio.sleep(0.2)


async def test_old_events_are_upcast_on_read_and_stored_unchanged(pool: Pool, schema: str) -> None:
    async with EventStore(pool, schema) as plain:
        await plain.append("person-1", [returned_v1(1), returned_v1(2)])
        await plain.append("person-1", [NewEvent(uuid.uuid4(), "Detained", {"on": "2025-05-03"})])
    async with EventStore(pool, schema, upcasters=upcasters()) as store:
        read = await store.read_stream("person-1")
        assert [(e.type, e.schema_version) for e in read] == [
            ("VoluntaryReturn", 3),
            ("VoluntaryReturn", 3),
            ("Detained", 1),
        ]
        assert read[0].data == {"schema_version": 3, "returned_on": "2025-05-01", "channel": "unknown"}
        # Commit-order reads wait until the events are below the horizon (other suites' transactions on
        # the server can hold it back a while); after that, a cursor and a page read them too.
        caught_up = await _caught_up(pool, schema, len(read))
        assert caught_up == read
        assert await store.read_all() == read
    stored = await pool.fetch(
        f"SELECT schema_version, data->>'returned' FROM \"{schema}\".events ORDER BY position"
    )
    assert [tuple(r) for r in stored] == [(1, "2025-05-01"), (1, "2025-05-02"), (1, None)]


async def test_several_streams_and_a_walk_of_a_kind_read_upcast_events(pool: Pool, schema: str) -> None:
    async with EventStore(pool, schema) as plain:
        await plain.append("person-1", [returned_v1(1)])
        await plain.append("person-2", [returned_v1(2), NewEvent(uuid.uuid4(), "Detained", {"on": "x"})])
        await plain.append("rejected-1", [NewEvent(uuid.uuid4(), "VoluntaryReturn", {"schema_version": 1})])
    registry = upcasters()
    async with pool.acquire() as conn:
        streams = await read_streams(conn, schema, ["person-2", "person-1", "person-9"], upcasters=registry)
        assert {
            s: [(e.stream_version, e.type, e.schema_version) for e in es] for s, es in streams.items()
        } == {
            "person-1": [(1, "VoluntaryReturn", 3)],
            "person-2": [(1, "VoluntaryReturn", 3), (2, "Detained", 1)],
        }
        ids = [streams["person-2"][1].event_id, streams["person-1"][0].event_id, uuid.uuid4()]
        assert await streams_holding(conn, schema, ids) == {ids[0]: "person-2", ids[1]: "person-1"}
        walked = [
            (e.stream_id, e.data["returned_on"])
            async for e in walk_streams(
                conn, schema, "person-", types=["VoluntaryReturn"], upcasters=registry, prefetch=1
            )
        ]
        assert walked == [("person-1", "2025-05-01"), ("person-2", "2025-05-02")]
