"""Intake's store on one PostgreSQL connection, in its transaction: the ``IntakeStore`` port."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from amnesty_eventstore import AppendRequest, DbConnection, append_many_in
from amnesty_eventstore.dead_letters import DeadLetter, dead_letter_in
from amnesty_intake.adapters.submission_log import SubmissionLog
from amnesty_intake.domain.admission import SubmissionKey


class PostgresIntakeStore:
    def __init__(self, conn: DbConnection, schema: str, rejected_topic: str) -> None:
        self._conn = conn
        self._schema = schema
        self._rejected_topic = rejected_topic
        self._log = SubmissionLog(schema)

    async def claim(
        self, first: Mapping[SubmissionKey, tuple[str, UUID]]
    ) -> tuple[set[SubmissionKey], dict[SubmissionKey, str]]:
        return await self._log.claim(self._conn, first)

    async def append(self, appends: Sequence[AppendRequest]) -> None:
        # One stream per person, no expected version: an append is never refused, and a retried batch's
        # appends are recognised by their event ids (the submission log gave them).
        await append_many_in(self._conn, self._schema, appends)

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        await dead_letter_in(self._conn, self._schema, self._rejected_topic, letters)
