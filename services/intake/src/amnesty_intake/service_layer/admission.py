"""Admitting submissions: validate, pseudonymize, deduplicate, record as case events; reject the rest.

One use case for both doors (the Kafka batch and the HTTP request), in two steps: ``screen`` parses and
digests a batch (no state needed, so the Kafka door does it while the previous batch commits), and
``record`` admits what was screened inside the caller's transaction, so a batch's events, its
submission log entries and its checkpoint commit together. As a ``Policy`` (``prepare``) it is the
Kafka door's processing of a batch.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from amnesty_contracts import (
    Rejection,
    Submission,
    canonical_submission,
    case_event_document,
    new_event_id,
    parse_submission,
    rejected_message,
    ukraine_today,
)
from amnesty_eventstore import AppendRequest, DbConnection, NewEvent
from amnesty_eventstore.consumption import Delivery
from amnesty_eventstore.dead_letters import DeadLetter
from amnesty_intake.domain.admission import Candidate, SubmissionKey, Verdict, classify, first_occurrences
from amnesty_intake.domain.pseudonyms import Pseudonymizer
from amnesty_intake.service_layer.ports import IntakeStore
from amnesty_runtime.policy import INVALID, Apply, BatchReport

SERVICE = "intake"
# Correlation ids derive from the idempotency key, so every event a submission causes, in any service,
# can be traced back to it without storing anything more.
_CORRELATION_NAMESPACE = uuid.UUID("6f1c1a52-4c55-4b0e-9d07-6b0f7e0f3a21")


@dataclass(frozen=True, slots=True)
class Incoming:
    """Raw bytes from upstream and where they came from (no coordinates for HTTP)."""

    raw: bytes
    key: bytes | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    @classmethod
    def of(cls, delivery: Delivery) -> Incoming:
        return cls(delivery.value, delivery.key, delivery.topic, delivery.partition, delivery.offset)


@dataclass(frozen=True, slots=True)
class Screened:
    """An item as parsed, and the keyed digest of its content when it is a valid submission."""

    item: Incoming
    parsed: Submission | Rejection
    content: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    type: str | None = None
    reason: str | None = None
    detail: str | None = None
    event_id: uuid.UUID | None = None


def report(outcomes: Sequence[Outcome]) -> BatchReport:
    """The outcomes as the processing runtime counts them."""
    return BatchReport(
        types=[o.type or INVALID for o in outcomes], rejected=[o.reason for o in outcomes if o.reason]
    )


def correlation_id(source: str, submission_id: str) -> uuid.UUID:
    return uuid.uuid5(_CORRELATION_NAMESPACE, f"{source}\x00{submission_id}")


class Admission:
    """The intake use case, given its collaborators; ``store`` opens the port on a transaction's
    connection (the Kafka door's batch gives one)."""

    def __init__(
        self,
        *,
        pseudonyms: Pseudonymizer,
        store: Callable[[DbConnection], IntakeStore],
        cases_topic: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pseudonyms = pseudonyms
        self._store = store
        self._cases_topic = cases_topic
        self._clock = clock

    @property
    def service(self) -> str:
        return SERVICE

    def forget(self) -> None:
        """Nothing of a batch is kept in memory: the submission log is in the database."""

    def prepare(self, deliveries: Sequence[Delivery]) -> Apply:
        """The Kafka door's batch: screened now, recorded for what the consumer leaves of it."""
        screened = dict(zip(deliveries, self.screen([Incoming.of(d) for d in deliveries]), strict=True))

        async def apply(conn: DbConnection, to_apply: Sequence[Delivery]) -> BatchReport:
            return report(await self.record(self._store(conn), [screened[d] for d in to_apply]))

        return apply

    async def admit(self, store: IntakeStore, items: Sequence[Incoming]) -> list[Outcome]:
        """Admit a batch into ``store`` (one transaction); one outcome per item, in order."""
        return await self.record(store, self.screen(items))

    def store_on(self, conn: DbConnection) -> IntakeStore:
        """The store on ``conn``, in its transaction."""
        return self._store(conn)

    def screen(self, items: Sequence[Incoming]) -> list[Screened]:
        """Parse each item and digest the valid ones' content; touches no state."""
        screened = []
        today = ukraine_today()  # the latest date a submission may report, once for the batch
        for item in items:
            parsed = parse_submission(item.raw, today=today)
            content = None if isinstance(parsed, Rejection) else self._content(parsed)
            screened.append(Screened(item, parsed, content))
        return screened

    async def record(self, store: IntakeStore, screened: Sequence[Screened]) -> list[Outcome]:
        """Admit screened items into ``store`` (one transaction); one outcome per item, in order."""
        now = self._clock()
        items = [s.item for s in screened]
        parsed = [s.parsed for s in screened]
        valid = [(i, s.parsed) for i, s in enumerate(screened) if not isinstance(s.parsed, Rejection)]
        candidates = [Candidate((s.source, s.submission_id), screened[i].content or "") for i, s in valid]
        first = {key: (content, new_event_id()) for key, content in first_occurrences(candidates).items()}
        claimed, stored = await store.claim(first) if first else (set(), {})
        answers: dict[int, Verdict | Rejection] = {
            i: p for i, p in enumerate(parsed) if isinstance(p, Rejection)
        }
        accepted: list[tuple[Submission, uuid.UUID]] = []
        for (index, submission), verdict in zip(valid, classify(candidates, claimed, stored), strict=True):
            answers[index] = verdict
            if verdict is Verdict.ACCEPTED:
                accepted.append((submission, first[(submission.source, submission.submission_id)][1]))
        await self._record(store, accepted, now)
        await self._reject(store, items, answers, now)
        return [self._outcome(parsed[i], answers[i], first) for i in range(len(items))]

    def _content(self, submission: Submission) -> str:
        return self._pseudonyms.content(canonical_submission(submission))

    async def _record(
        self, store: IntakeStore, accepted: list[tuple[Submission, uuid.UUID]], now: datetime
    ) -> None:
        # Each event as its JSON document, built from the submission validated moments ago: stored and
        # published as it is, so no model of it is validated and dumped again.
        new_events: dict[str, list[NewEvent]] = defaultdict(list)
        for submission, event_id in accepted:
            person = self._pseudonyms.person(submission.person_id)
            correlation = correlation_id(submission.source, submission.submission_id)
            document = case_event_document(
                submission,
                person=person,
                pseudonymize_case=self._pseudonyms.case,
                pseudonymize_submission_id=self._pseudonyms.submission_id,
                pseudonymize_unit=self._pseudonyms.unit,
                recorded_at=now,
                correlation_id=correlation,
                causation_id=correlation,
                event_id=event_id,
            )
            new_events[person].append(
                NewEvent(
                    event_id=event_id,
                    type=submission.type,
                    data=document,
                    schema_version=document["schema_version"],
                    occurred_on=submission.occurred_on,
                    topic=self._cases_topic,
                    key=person,
                )
            )
        if new_events:
            # One stream per person; the order within the batch is kept, and one round trip appends all.
            await store.append([AppendRequest(f"person-{p}", e) for p, e in new_events.items()])

    async def _reject(
        self,
        store: IntakeStore,
        items: Sequence[Incoming],
        answers: dict[int, Verdict | Rejection],
        now: datetime,
    ) -> None:
        letters = [
            DeadLetter.of(
                items[i].key,
                rejected_message(
                    items[i].raw,
                    answer,
                    topic=items[i].topic,
                    partition=items[i].partition,
                    offset=items[i].offset,
                    service=SERVICE,
                    now=now,
                ),
            )
            for i, answer in sorted(answers.items())
            if isinstance(answer, Rejection)
        ]
        if letters:
            await store.dead_letter(letters)

    @staticmethod
    def _outcome(
        parsed: Submission | Rejection,
        answer: Verdict | Rejection,
        first: dict[SubmissionKey, tuple[str, uuid.UUID]],
    ) -> Outcome:
        if isinstance(answer, Rejection):
            kind = None if isinstance(parsed, Rejection) else parsed.type
            return Outcome(Verdict.REJECTED, kind, str(answer.reason), answer.detail)
        assert not isinstance(parsed, Rejection)
        event_id = first[(parsed.source, parsed.submission_id)][1] if answer is Verdict.ACCEPTED else None
        return Outcome(answer, parsed.type, event_id=event_id)
