"""Reads hand out events exactly as stored, whichever read: the day and the instant travel as numbers
(see reading._SELECT_EVENTS) and must come back as the dates and datetimes the table holds."""

from __future__ import annotations

import contextlib
import uuid
from datetime import date

import pytest

from amnesty_eventstore import EventStore, NewEvent, Pool, RecordedEvent, catch_up

pytestmark = pytest.mark.integration


async def test_days_instants_and_metadata_come_back_as_stored(pool: Pool, schema: str) -> None:
    days = [date(2025, 5, 3), None, date(1969, 12, 31), date(1970, 1, 1), date(2025, 5, 3)]
    async with EventStore(pool, schema) as store:
        for n, day in enumerate(days):
            metadata = {"correlation_id": f"c-{n}"} if n % 2 else {}
            await store.append(f"person-{n % 2}", [NewEvent(uuid.uuid4(), "Probe", {"n": n}, occurred_on=day,
                                                             metadata=metadata)])  # fmt: skip
        rows = await pool.fetch(f'SELECT event_id, occurred_on, recorded_at FROM "{schema}".events')
        stored = {r["event_id"]: (r["occurred_on"], r["recorded_at"]) for r in rows}
        read = [*await store.read_stream("person-0"), *await store.read_stream("person-1")]
        async with pool.acquire() as conn:
            batches = catch_up(conn, schema)
            async with contextlib.aclosing(batches):
                caught_up: list[RecordedEvent] = [e async for batch in batches for e in batch]

    assert sorted(e.data["n"] for e in read) == list(range(len(days)))
    for event in read:
        occurred_on, recorded_at = stored[event.event_id]
        assert event.occurred_on == occurred_on == days[event.data["n"]]
        assert event.recorded_at == recorded_at
        assert event.recorded_at.utcoffset() == recorded_at.utcoffset()
        assert event.metadata == ({"correlation_id": f"c-{event.data['n']}"} if event.data["n"] % 2 else {})
    # catch_up reads below the horizon: other suites' transactions may hold some back, never alter them.
    by_id = {e.event_id: e for e in read}
    assert all(e == by_id[e.event_id] for e in caught_up)
