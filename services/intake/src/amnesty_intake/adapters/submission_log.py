"""The submission log: which (source, submission_id) intake recorded, with a keyed digest of the content."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from amnesty_eventstore import DbConnection
from amnesty_eventstore.schemas import store_schema
from amnesty_intake.domain.admission import SubmissionKey


class SubmissionLog:
    def __init__(self, schema: str) -> None:
        self._store = store_schema(schema)

    async def claim(
        self, conn: DbConnection, first: Mapping[SubmissionKey, tuple[str, UUID]]
    ) -> tuple[set[SubmissionKey], dict[SubmissionKey, str]]:
        """Record the keys not seen before (one round trip); return them and the stored content of the rest.

        Concurrent claimers of one key (the Kafka consumer and an HTTP request) wait on the primary key:
        exactly one records it, the other finds it stored.
        """
        keys = sorted(first)
        rows = await conn.fetch(
            self._store.sql(
                "INSERT INTO {submission_log} (source, submission_id, content_hmac, event_id) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[]) "
                "ON CONFLICT (source, submission_id) DO NOTHING RETURNING source, submission_id"
            ),
            [k[0] for k in keys],
            [k[1] for k in keys],
            [first[k][0] for k in keys],
            [first[k][1] for k in keys],
        )
        claimed = {(r["source"], r["submission_id"]) for r in rows}
        others = [k for k in keys if k not in claimed]
        if not others:
            return claimed, {}
        stored = await conn.fetch(
            self._store.sql(
                "SELECT source, submission_id, content_hmac FROM {submission_log} "
                "WHERE (source, submission_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
            ),
            [k[0] for k in others],
            [k[1] for k in others],
        )
        return claimed, {(r["source"], r["submission_id"]): r["content_hmac"] for r in stored}
