"""What a durable raw forwarder (``raw_forwarder`` given a database) writes to PostgreSQL for a batch.

The services keep each batch in one transaction: intake its submission log, the case events and their
outbox rows; eligibility reads the persons' streams, appends every case event as a fact and each
decision with its outbox row; statistics the persons' states, the daily counts and the totals; each its
consumer checkpoints. Their relays then read the outbox, publish and delete what they published.

A durable forwarder writes rows of the same kinds with plain set-based SQL, one statement per table and
batch (``INSERT … SELECT unnest``), on tables of the same shape (the event store's indexes), keyed by the
person's id as the services key them by pseudonym. Not done: validation, pseudonyms, signatures and their
headers, the rules, the event store's version checks and stream rows, the streams' notification. What
it costs is the floor of the pipeline's PostgreSQL work under the services' own.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Final, Literal, get_args

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from amnesty_eventstore.record_batches import publish_in_batches
from tests.support.kafka import OutgoingRecord

Role = Literal["intake", "eligibility", "statistics"]
ROLES: tuple[Role, ...] = get_args(Role)


_CHECKPOINTS: Final = (
    "CREATE TABLE checkpoints (topic text, partition integer, next_offset bigint NOT NULL,"
    " PRIMARY KEY (topic, partition))"
)
_EVENTS: Final = [
    # The event store's shape (migrations 0001, 0011): commit order, unique ids and stream versions.
    "CREATE TABLE events (position bigint GENERATED ALWAYS AS IDENTITY,"
    " transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(), stream_id text NOT NULL,"
    " stream_version integer NOT NULL, event_id uuid PRIMARY KEY, data json NOT NULL,"
    " recorded_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, stream_version))",
    "CREATE INDEX events_commit_order ON events (transaction_id, position)",
    "CREATE TABLE outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id uuid NOT NULL,"
    " topic text NOT NULL, key bytea, value bytea NOT NULL)",
]
TABLES: Final[Mapping[Role, list[str]]] = {
    "intake": [
        _CHECKPOINTS,
        *_EVENTS,
        "CREATE TABLE submissions (record text PRIMARY KEY, recorded_at timestamptz NOT NULL DEFAULT now())",
    ],
    "eligibility": [_CHECKPOINTS, *_EVENTS],
    "statistics": [
        _CHECKPOINTS,
        "CREATE TABLE persons (person text PRIMARY KEY, state json NOT NULL)",
        "CREATE TABLE daily (metric text, day date, region text, value bigint NOT NULL,"
        " PRIMARY KEY (metric, day, region))",
        "CREATE TABLE totals (metric text, region text, value bigint NOT NULL, PRIMARY KEY (metric, region))",
    ],
}


def schema_of(tag: str, role: Role) -> str:
    return f"raw_topology_{tag}_{role}"


async def create_schemas(conn: asyncpg.Connection, tag: str) -> None:
    for role, tables in TABLES.items():
        schema = schema_of(tag, role)
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        for ddl in tables:
            await conn.execute(f'SET search_path TO "{schema}"; {ddl}')
    await conn.execute("RESET search_path")


async def drop_schemas(conn: asyncpg.Connection, tag: str) -> None:
    for role in TABLES:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema_of(tag, role)}" CASCADE')


async def count_rows(conn: asyncpg.Connection, tag: str) -> dict[str, int]:
    """Rows left in the forwarders' tables, as ``role.table``: what a run recorded."""
    return {
        f"{role}.{table}": await conn.fetchval(f'SELECT count(*) FROM "{schema_of(tag, role)}".{table}')
        for role, tables in TABLES.items()
        for table in (ddl.split()[2] for ddl in tables if ddl.startswith("CREATE TABLE"))
    }


async def record_batch(
    conn: asyncpg.Connection,
    role: Role,
    records: Sequence[ConsumerRecord[bytes, bytes]],
    out: Sequence[OutgoingRecord],
    versions: Iterator[int],
) -> None:
    """The batch's rows and its checkpoints in one transaction; ``out`` goes to the outbox."""
    values = [orjson.loads(r.value or b"{}") for r in records]
    ends: dict[tuple[str, int], int] = {}
    for r in records:
        ends[(r.topic, r.partition)] = max(ends.get((r.topic, r.partition), 0), r.offset + 1)
    async with conn.transaction():
        if role == "intake":
            await conn.execute(
                "INSERT INTO submissions (record) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
                [(r.key or b"").decode() for r in records],
            )
            await _append(
                conn,
                [(v["person_id"], r.value or b"{}") for r, v in zip(records, values, strict=True)],
                versions,
            )
        elif role == "eligibility":
            persons = [v["person_id"] for v in values]
            await conn.fetch(  # the persons' streams, read before deciding
                "SELECT stream_id, stream_version, data FROM events WHERE stream_id = ANY($1::text[])"
                " ORDER BY stream_id, stream_version",
                sorted(set(persons)),
            )
            decided = {f.value for f in out}  # the records ``out`` decides on, already parsed above
            facts = [(p, r.value or b"{}") for p, r in zip(persons, records, strict=True)]
            await _append(conn, facts + [(p, value) for p, value in facts if value in decided], versions)
        else:
            await _project(conn, records, values)
        if out:
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, key, value)"
                " SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::bytea[])",
                *_columns((uuid.uuid4(), f.topic, f.key, f.value) for f in out),
            )
        await conn.execute(
            "INSERT INTO checkpoints (topic, partition, next_offset)"
            " SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[])"
            " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset",
            *_columns((topic, partition, end) for (topic, partition), end in ends.items()),
        )


def _columns(rows: Iterable[tuple[object, ...]]) -> list[list[object]]:
    """Rows as the columns ``unnest($1, $2, …)`` takes, one array per column (rows must not be empty)."""
    return [list(column) for column in zip(*rows, strict=True)]


async def _append(conn: asyncpg.Connection, events: list[tuple[str, bytes]], versions: Iterator[int]) -> None:
    await conn.execute(
        "INSERT INTO events (stream_id, stream_version, event_id, data)"
        " SELECT s, v, i, d::json FROM unnest($1::text[], $2::integer[], $3::uuid[], $4::text[])"
        " AS u(s, v, i, d)",
        *_columns((stream, next(versions), uuid.uuid4(), data.decode()) for stream, data in events),
    )


async def _project(
    conn: asyncpg.Connection, records: Sequence[ConsumerRecord[bytes, bytes]], values: list[dict[str, str]]
) -> None:
    """Each person's latest state, and the counts: cases by absence, returns and grants by return day."""
    states: dict[str, bytes] = {}
    daily: Counter[tuple[str, str, str]] = Counter()
    for r, value in zip(records, values, strict=True):
        states[value["person_id"]] = r.value or b"{}"
        if value["type"] == "CaseOpened":
            daily[("cases", value["absent_since"], value["region"])] += 1
        else:  # a return on the cases topic, its decision on the decisions topic
            daily[("returns" if r.topic.endswith(".cases") else "grants", value["returned_on"], "")] += 1
    totals: Counter[tuple[str, str]] = Counter()
    for (metric, _, region), n in daily.items():
        totals[(metric, region)] += n
    await conn.execute(
        "INSERT INTO persons (person, state)"
        " SELECT p, s::json FROM unnest($1::text[], $2::text[]) AS u(p, s)"
        " ON CONFLICT (person) DO UPDATE SET state = EXCLUDED.state",
        *_columns((person, state.decode()) for person, state in states.items()),
    )
    await conn.execute(
        "INSERT INTO daily (metric, day, region, value)"
        " SELECT m, d::date, r, n"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(m, d, r, n)"
        " ON CONFLICT (metric, day, region) DO UPDATE SET value = daily.value + EXCLUDED.value",
        *_columns((*cell, n) for cell, n in daily.items()),
    )
    await conn.execute(
        "INSERT INTO totals (metric, region, value)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])"
        " ON CONFLICT (metric, region) DO UPDATE SET value = totals.value + EXCLUDED.value",
        *_columns((*cell, n) for cell, n in totals.items()),
    )


async def relay_outbox(conn: asyncpg.Connection, producer: AIOKafkaProducer) -> None:
    """What a relay's pass does: read the outbox, publish it, delete what was published."""
    rows = await conn.fetch("SELECT id, topic, key, value FROM outbox ORDER BY id")
    if not rows:
        return
    await publish_in_batches(producer, [OutgoingRecord(r["topic"], r["key"], r["value"]) for r in rows])
    await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
