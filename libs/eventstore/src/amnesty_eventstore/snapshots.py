"""Snapshots: a stream's folded state at a version, so long streams need not be replayed from 1."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from amnesty_eventstore.connections import DbConnection
from amnesty_eventstore.schemas import store_schema


@dataclass(frozen=True, slots=True)
class Snapshot:
    """``state`` after the stream's events up to ``version``, in the state's ``schema_version``."""

    stream_id: str
    version: int
    state: dict[str, Any]
    schema_version: int = 1


@lru_cache(maxsize=64)
def _save_sql(schema: str) -> str:
    # A slower writer must not replace a newer snapshot with an older one.
    return store_schema(schema).sql(
        "INSERT INTO {snapshots} AS s (stream_id, version, schema_version, state) "
        "VALUES ($1, $2, $3, $4::text::jsonb) "
        "ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, "
        "schema_version = excluded.schema_version, state = excluded.state, saved_at = now() "
        "WHERE s.version <= excluded.version"
    )


@lru_cache(maxsize=64)
def _load_sql(schema: str) -> str:
    return store_schema(schema).sql(
        "SELECT version, schema_version, state::text FROM {snapshots} WHERE stream_id = $1"
    )


async def save_snapshot(conn: DbConnection, schema: str, snapshot: Snapshot) -> None:
    """Keep ``snapshot`` as the stream's latest unless a later version is stored already."""
    await conn.execute(
        _save_sql(schema),
        snapshot.stream_id,
        snapshot.version,
        snapshot.schema_version,
        orjson.dumps(snapshot.state).decode(),
    )


async def load_snapshot(
    conn: DbConnection, schema: str, stream_id: str, *, schema_version: int | None = None
) -> Snapshot | None:
    """The stream's latest snapshot; None when there is none or, given ``schema_version``, it is in another.

    A snapshot in an old state version is ignored rather than converted: the caller folds from the
    events and saves a new one.
    """
    row = await conn.fetchrow(_load_sql(schema), stream_id)
    if row is None or (schema_version is not None and row[1] != schema_version):
        return None
    return Snapshot(stream_id, row[0], orjson.loads(row[2]), row[1])
