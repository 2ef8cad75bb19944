"""The redrive log in intake's schema, and the originals it queues on intake's outbox for the upstream topic.

Recording and queueing are one transaction: either a message is recorded as re-driven and its original
is on the outbox, or neither, so no run of the command (again, at once, or after a crash) sends one
twice. From there intake's relay publishes it like any outbox message: in order, through an idempotent
producer, at least once. A relay killed between Kafka's acknowledgement and its delete sends it again;
intake takes a valid submission once (its submission log), and a still-bad one is rejected once more,
which a redrive by filter then leaves alone (the same bytes were re-driven)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from amnesty_contracts import new_event_id
from amnesty_eventstore import Pool
from amnesty_eventstore.schemas import store_schema
from amnesty_intake.domain.redrives import Redrive, Rejected, RejectedId

REDRIVE_HEADER = "redrive-of"
"""On a re-driven message: the rejected message it came from, as ``<rejected topic>:<partition>:<offset>``."""


class PostgresRedriveLog:
    """``RedriveLog`` for the rejected messages of ``rejected_topic``, sending them to ``upstream_topic``."""

    def __init__(self, pool: Pool, schema: str, rejected_topic: str, upstream_topic: str) -> None:
        self._pool = pool
        self._store = store_schema(schema)
        self._rejected_topic = rejected_topic
        self._upstream_topic = upstream_topic

    async def redrives(self) -> dict[RejectedId, Redrive]:
        try:
            rows = await self._read()
        except asyncpg.UndefinedTableError:
            # Not migrated yet (intake of an older version, or never started): nothing was re-driven.
            return {}
        return {
            RejectedId(r["rejected_partition"], r["rejected_offset"]): Redrive(r["redriven_at"], r["queued"])
            for r in rows
        }

    async def _read(self) -> list[asyncpg.Record]:
        return await self._pool.fetch(
            self._store.sql(
                "SELECT r.rejected_partition, r.rejected_offset, r.redriven_at, "
                "EXISTS (SELECT 1 FROM {outbox} AS o WHERE o.event_id = r.event_id) AS queued "
                "FROM {redrive_log} AS r WHERE r.rejected_topic = $1"
            ),
            self._rejected_topic,
        )

    async def record(self, rejected: Sequence[Rejected]) -> list[RejectedId]:
        event_ids = [new_event_id() for _ in rejected]
        async with self._pool.acquire() as conn, conn.transaction():
            # Another run recording the same message at once waits here on the primary key, then finds
            # it recorded and queues nothing for it.
            rows = await conn.fetch(
                self._store.sql(
                    "INSERT INTO {redrive_log} "
                    "(rejected_topic, rejected_partition, rejected_offset, reason, service, event_id) "
                    "SELECT $1, * FROM unnest($2::integer[], $3::bigint[], $4::text[], $5::text[], "
                    "$6::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id"
                ),
                self._rejected_topic,
                [r.id.partition for r in rejected],
                [r.id.offset for r in rejected],
                [str(r.message.reason) for r in rejected],
                [r.message.service for r in rejected],
                event_ids,
            )
            recorded = {row["event_id"] for row in rows}
            queued = [(e, r) for e, r in zip(event_ids, rejected, strict=True) if e in recorded]
            if not queued:
                return []
            await conn.execute(
                self._store.sql(
                    "INSERT INTO {outbox} (event_id, topic, key, value, headers) "
                    "SELECT u.event_id, $1, u.key, u.value, jsonb_build_object($2::text, u.origin) "
                    "FROM unnest($3::uuid[], $4::bytea[], $5::bytea[], $6::text[]) "
                    "WITH ORDINALITY AS u(event_id, key, value, origin, n) ORDER BY u.n"
                ),
                self._upstream_topic,
                REDRIVE_HEADER,
                [e for e, _ in queued],
                [r.key for _, r in queued],
                [r.original for _, r in queued],
                [f"{self._rejected_topic}:{r.id}" for _, r in queued],
            )
            # Wake intake's relay as an append does (it also polls).
            await conn.execute(self._store.notify_sql())
        return [r.id for _, r in queued]
