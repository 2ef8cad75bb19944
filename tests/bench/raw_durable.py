"""What each raw forwarder writes to PostgreSQL when the topology runs durable (``--durable``).

The pipeline's services keep every batch in one transaction: intake its submission log, the events and
their outbox rows; eligibility reads the persons' streams, then appends the decisions and their outbox
rows; statistics the persons' states and the daily counts; each its consumer checkpoints. A durable
forwarder writes the same rows with plain set-based SQL (``INSERT … SELECT unnest``, one statement per
table and batch), commits, publishes from memory and deletes the outbox rows it published, as a relay
does. No validation, no pseudonyms, no domain rules: what it costs is the floor of the pipeline's
PostgreSQL work, and of the round trips to it, under the services' own.

Each record is its own stream (version 1) and person, keyed by its Kafka key: cheaper than the services'
person streams, so the floor is, if anything, set low.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Final

import asyncpg
import orjson
from aiokafka.structs import ConsumerRecord

SCHEMA_TABLES: Final = {
    "intake": [
        "CREATE TABLE submissions (record text PRIMARY KEY, recorded_at timestamptz NOT NULL DEFAULT now())",
    ],
    "eligibility": [],
    "statistics": [
        "CREATE TABLE persons (person text PRIMARY KEY, state jsonb NOT NULL)",
        "CREATE TABLE daily (metric text, day date, region text, value bigint NOT NULL,"
        " PRIMARY KEY (metric, day, region))",
    ],
}
EVENT_TABLES: Final = [
    # The event store's shape (migration 0001): commit order, unique ids and stream versions.
    "CREATE TABLE events (position bigint GENERATED ALWAYS AS IDENTITY,"
    " transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(), stream_id text NOT NULL,"
    " stream_version integer NOT NULL, event_id uuid PRIMARY KEY, data jsonb NOT NULL,"
    " recorded_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, stream_version))",
    "CREATE INDEX events_commit_order ON events (transaction_id, position)",
    "CREATE TABLE outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id uuid NOT NULL,"
    " topic text NOT NULL, key bytea, value bytea NOT NULL)",
]
CHECKPOINTS: Final = (
    "CREATE TABLE checkpoints (topic text, partition integer, next_offset bigint NOT NULL,"
    " PRIMARY KEY (topic, partition))"
)


def schema_of(tag: str, role: str) -> str:
    return f"raw_topology_{tag}_{role}"


async def create_schemas(conn: asyncpg.Connection, tag: str) -> None:
    for role, tables in SCHEMA_TABLES.items():
        schema = schema_of(tag, role)
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        for ddl in [CHECKPOINTS, *(EVENT_TABLES if role != "statistics" else []), *tables]:
            await conn.execute(f'SET search_path TO "{schema}"; {ddl}')
    await conn.execute("RESET search_path")


async def drop_schemas(conn: asyncpg.Connection, tag: str) -> None:
    for role in SCHEMA_TABLES:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema_of(tag, role)}" CASCADE')


async def record_batch(
    conn: asyncpg.Connection,
    role: str,
    records: Sequence[ConsumerRecord[bytes, bytes]],
    onward: Sequence[tuple[bytes | None, bytes]],
    sink: str | None,
) -> list[int]:
    """The batch's rows in one transaction; returns the outbox ids of ``onward`` (to delete once
    published)."""
    ends: dict[tuple[str, int], int] = {}
    for r in records:
        ends[(r.topic, r.partition)] = max(ends.get((r.topic, r.partition), 0), r.offset + 1)
    async with conn.transaction():
        if role == "intake":
            await conn.execute(
                "INSERT INTO submissions (record) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
                [(r.key or b"").decode() for r in records],
            )
        elif role == "eligibility":
            # The persons' streams, read before deciding.
            await conn.fetch(
                "SELECT stream_id, stream_version, data FROM events WHERE stream_id = ANY($1::text[])",
                [(key or b"").decode() for key, _ in onward],
            )
        outbox: list[int] = []
        if sink is not None and onward:
            ids = [uuid.uuid4() for _ in onward]
            await conn.execute(
                "INSERT INTO events (stream_id, stream_version, event_id, data)"
                " SELECT s, 1, i, d::jsonb FROM unnest($1::text[], $2::uuid[], $3::text[]) AS u(s, i, d)",
                [(key or b"").decode() for key, _ in onward],
                ids,
                [value.decode() for _, value in onward],
            )
            outbox = [
                row["id"]
                for row in await conn.fetch(
                    "INSERT INTO outbox (event_id, topic, key, value)"
                    " SELECT i, $2, k, v FROM unnest($1::uuid[], $3::bytea[], $4::bytea[]) AS u(i, k, v)"
                    " RETURNING id",
                    ids,
                    sink,
                    [key for key, _ in onward],
                    [value for _, value in onward],
                )
            ]
        if role == "statistics":
            await _project(conn, records)
        await conn.execute(
            "INSERT INTO checkpoints (topic, partition, next_offset)"
            " SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[])"
            " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset",
            [t for t, _ in ends],
            [p for _, p in ends],
            list(ends.values()),
        )
    return outbox


async def _project(conn: asyncpg.Connection, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
    """Each record's person state and its daily count (cases by absence, returns and decisions by return)."""
    states: dict[str, bytes] = {}
    counts: Counter[tuple[str, str, str]] = Counter()
    for r in records:
        value = orjson.loads(r.value or b"{}")
        states[(r.key or b"").decode()] = r.value or b"{}"
        if value.get("type") == "CaseOpened":
            counts[("cases", value["absent_since"], value["region"])] += 1
        else:
            metric = "returns" if r.topic.endswith("cases") else "grants"  # on the decisions topic
            counts[(metric, value["returned_on"], "")] += 1
    await conn.execute(
        "INSERT INTO persons (person, state)"
        " SELECT p, s::jsonb FROM unnest($1::text[], $2::text[]) AS u(p, s)"
        " ON CONFLICT (person) DO UPDATE SET state = EXCLUDED.state",
        list(states),
        [s.decode() for s in states.values()],
    )
    await conn.execute(
        "INSERT INTO daily (metric, day, region, value)"
        " SELECT m, d::date, r, n"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(m, d, r, n)"
        " ON CONFLICT (metric, day, region) DO UPDATE SET value = daily.value + EXCLUDED.value",
        [m for m, _, _ in counts],
        [d for _, d, _ in counts],
        [g for _, _, g in counts],
        list(counts.values()),
    )


async def published(conn: asyncpg.Connection, outbox: list[int]) -> None:
    """The relay's last step: the published rows leave the outbox."""
    if outbox:
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", outbox)
