"""Eligibility's policy: a batch of case events in, facts and decisions appended, in the batch's transaction.

``Eligibility.prepare`` parses the whole batch while the previous one commits. Then, in the transaction
(``decide_eligibility``), for each person of the batch: take them from the person cache or read their
stream, take their events one by one (the domain answers the decisions each one calls for), and append
the events as facts and the decisions with an outbox message for amnesty.decisions.v1, all in one append
with the stream version known (optimistic concurrency); once the batch commits, the cache keeps them.
A message that is not a readable case event is dead-lettered to amnesty.rejected.v1 through the outbox
too (``dead_letters``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from amnesty_contracts import (
    CASE_EVENT_MODELS,
    DECISION_EVENT_MODELS,
    DECISIONS,
    CaseEvent,
    DecisionEvent,
    Rejection,
    RejectionReason,
    case_event_documents,
    decision_event_documents,
    new_event_id,
    parse_case_events,
    rejected_message,
)
from amnesty_eligibility.adapters import person_streams
from amnesty_eligibility.domain.person import Person
from amnesty_eligibility.domain.regimes import RuleSet
from amnesty_eligibility.service_layer.person_cache import PersonCache
from amnesty_eventstore import AppendRequest, AppendResult, DbConnection, NewEvent
from amnesty_eventstore.consumption import Delivery
from amnesty_eventstore.dead_letters import DeadLetter
from amnesty_runtime.policy import INVALID, Apply, BatchReport, prepared_for

SERVICE = "eligibility"

Read = tuple[Delivery, CaseEvent | Rejection]
"""A delivery and what it reads as."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The policy: where the store is, the law in force, where decisions and rejections go."""

    schema: str
    rules: RuleSet
    store: Callable[[DbConnection], person_streams.PersonStore]
    """Opens the store on a batch's connection, in its transaction."""
    decisions_topic: str = DECISIONS
    clock: Callable[[], datetime] = _utc_now
    new_id: Callable[[], UUID] = new_event_id
    cache: PersonCache = field(default_factory=lambda: PersonCache(capacity=0))

    @property
    def service(self) -> str:
        return SERVICE

    def forget(self) -> None:
        self.cache.forget()

    def prepare(self, deliveries: Sequence[Delivery]) -> Apply:
        """Parse the batch (one validation call); decide what the consumer leaves of it."""
        read = list(zip(deliveries, parse_case_events([d.value for d in deliveries]), strict=True))

        async def apply(conn: DbConnection, to_apply: Sequence[Delivery]) -> BatchReport:
            return await decide_eligibility(self.store(conn), prepared_for(read, to_apply), self)

        return apply


async def decide_eligibility(
    store: person_streams.PersonStore, read: Sequence[Read], eligibility: Eligibility
) -> BatchReport:
    """Decide the read deliveries of a batch (already deduplicated by the consumer); append the outcome."""
    now = eligibility.clock()
    events = [(d, e) for d, e in read if not isinstance(e, Rejection)]
    streams = {person_streams.stream_of(e.person): e.person for _, e in events}
    known = eligibility.cache.find(streams)
    loaded = await store.load(
        [p for s, p in streams.items() if s not in known], [e.event_id for _, e in events]
    )
    known |= {s: (stream.version, stream.replay()) for s, stream in loaded.streams.items()}
    persons = {s: person for s, (_, person) in known.items()}
    appends, refused = _decide(events, persons, loaded.stored_in, eligibility, now)
    rejections = [(d, e) for d, e in read if isinstance(e, Rejection)] + refused
    if rejections:
        await store.dead_letter(_dead_letters(rejections, now))
    requests = [AppendRequest(s, new, known[s][0]) for s, new in appends.items()]
    committed = {s: (version, persons[s]) for s, (version, _) in known.items()}
    for request, outcome in zip(requests, await store.append(requests) if requests else [], strict=True):
        if not isinstance(outcome, AppendResult):
            eligibility.cache.drop(streams)  # one of them may be behind the store: read them again
            raise outcome  # the batch rolls back and comes again
        committed[request.stream_id] = (outcome.last_version, persons[request.stream_id])
    return BatchReport(
        types=[INVALID if isinstance(e, Rejection) else e.type for _, e in read],
        rejected=[str(rejection.reason) for _, rejection in rejections],
        after_commit=lambda: eligibility.cache.remember(committed),
    )


def _decide(
    events: Sequence[tuple[Delivery, CaseEvent]],
    persons: dict[str, Person],
    stored_in: Mapping[UUID, str],
    eligibility: Eligibility,
    now: datetime,
) -> tuple[dict[str, list[NewEvent]], list[tuple[Delivery, Rejection]]]:
    """Each person's new events (facts, then the decisions they call for), and the refused deliveries;
    ``persons`` (by stream id) end as the batch leaves them."""
    owners = dict(stored_in)
    appends: defaultdict[str, list[NewEvent | CaseEvent | DecisionEvent]] = defaultdict(list)
    refused: list[tuple[Delivery, Rejection]] = []
    for delivery, event in events:
        stream_id = person_streams.stream_of(event.person)
        if owners.setdefault(event.event_id, stream_id) != stream_id:
            refused.append((delivery, _TAKEN_EVENT_ID))
            continue
        if event.event_id in persons[stream_id].history.seen:
            continue  # recorded before: a resend under another message identity
        persons[stream_id], decisions = persons[stream_id].handle(
            event, eligibility.rules, now=now, new_id=eligibility.new_id
        )
        appends[stream_id] += [_fact(event, delivery.value), *decisions]
    return _decisions_dumped(appends, eligibility.decisions_topic), refused


def _decisions_dumped(
    appends: Mapping[str, list[NewEvent | CaseEvent | DecisionEvent]], decisions_topic: str
) -> dict[str, list[NewEvent]]:
    """Each person's events to append, what is still a model (the decisions, with their outbox
    messages, and any fact without its event id) dumped in one serializer call per kind for the whole
    batch rather than one call per event, each in its place."""
    events = [e for new in appends.values() for e in new]
    facts: list[CaseEvent] = [e for e in events if isinstance(e, _CASE_EVENT_CLASSES)]
    decisions: list[DecisionEvent] = [e for e in events if isinstance(e, _DECISION_CLASSES)]
    dumped_facts = iter(
        [_new_event(f, data, None) for f, data in zip(facts, case_event_documents(facts), strict=True)]
        if facts
        else []
    )
    dumped_decisions = iter(
        [
            _new_event(d, data, decisions_topic)
            for d, data in zip(decisions, decision_event_documents(decisions), strict=True)
        ]
    )

    def placed(event: NewEvent | CaseEvent | DecisionEvent) -> NewEvent:
        if isinstance(event, NewEvent):
            return event
        return next(dumped_facts if isinstance(event, _CASE_EVENT_CLASSES) else dumped_decisions)

    return {s: [placed(e) for e in new] for s, new in appends.items()}


_CASE_EVENT_CLASSES = tuple(CASE_EVENT_MODELS.values())
_DECISION_CLASSES = tuple(DECISION_EVENT_MODELS.values())


# The same event id under two persons is a producer's mistake; appending it would fail the whole batch
# forever, so the later one is refused with the original bytes kept for a re-drive.
_TAKEN_EVENT_ID = Rejection(
    RejectionReason.CONFLICTING_DUPLICATE, "event_id: already recorded for another person"
)


def _fact(event: CaseEvent, received: bytes) -> NewEvent | CaseEvent:
    """The fact as the bytes it arrived in: the envelope intake recorded, which the parser has just
    validated, so dumping the model back to JSON would only rebuild it. Unless the sender left out the
    event id and the model made one up: those bytes would replay under a new id each time, so that
    model is dumped instead (in ``_decisions_dumped``, with the batch's other models)."""
    return _new_event(event, received, None) if "event_id" in event.model_fields_set else event


def _new_event(event: CaseEvent | DecisionEvent, data: dict[str, Any] | bytes, topic: str | None) -> NewEvent:
    """A fact (no topic: kept in the person's stream only) or a decision (also to ``topic``, keyed by
    the person)."""
    return NewEvent(
        event_id=event.event_id,
        type=event.type,
        data=data,
        schema_version=event.schema_version,
        occurred_on=event.occurred_on,
        topic=topic,
        key=event.person if topic is not None else None,
    )


def _dead_letters(rejections: Sequence[tuple[Delivery, Rejection]], now: datetime) -> list[DeadLetter]:
    return [
        DeadLetter.of(
            d.key,
            rejected_message(
                d.value,
                rejection,
                topic=d.topic,
                partition=d.partition,
                offset=d.offset,
                service=SERVICE,
                now=now,
            ),
        )
        for d, rejection in rejections
    ]
