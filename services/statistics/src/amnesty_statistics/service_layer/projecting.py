"""The statistics policy: a batch of case events and decisions into one version of the read model.

``Projection.prepare`` parses the batch while the previous one commits. Then, in the batch's
transaction (the consumer's, with its checkpoints and handled event ids): lock the stored persons of
the batch, fold their events into their states, store the states (inserting the new persons), and add
the deltas to the daily table and the totals, one statement each.

A message that is not a readable event is skipped, counted and logged (its coordinates and reason, never
its content), not dead-lettered: the case events' producer, intake, and their other consumer,
eligibility, already dead-letter what they cannot read, and an event type this version does not know yet
is a newer producer's, not an error. (An event whose producer is not proven never gets here: the
provenance check in front of this policy dead-letters it, ``amnesty_runtime.provenance``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from amnesty_contracts import Rejection, parse_case_events, parse_decision_events
from amnesty_eventstore import DbConnection
from amnesty_eventstore.consumption import Delivery
from amnesty_runtime.policy import INVALID, Apply, BatchReport, prepared_for
from amnesty_statistics.adapters.read_model import ReadModel
from amnesty_statistics.domain.persons import ProjectedEvent
from amnesty_statistics.domain.projection import project_batch

SERVICE = "statistics"

Read = tuple[Delivery, ProjectedEvent | Rejection]
"""A delivery and what it reads as."""

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Projection:
    """The policy: a version of the read model, and the topics that feed it."""

    read_model: ReadModel
    cases_topic: str
    decisions_topic: str

    @property
    def service(self) -> str:
        return SERVICE

    def forget(self) -> None:
        """Nothing of a batch is kept in memory: the persons' states are locked and read per batch."""

    def prepare(self, deliveries: Sequence[Delivery]) -> Apply:
        """Parse the batch, each topic's messages in one validation call."""
        read = self.read(deliveries)

        async def apply(conn: DbConnection, to_apply: Sequence[Delivery]) -> BatchReport:
            return await project_events(conn, prepared_for(read, to_apply), self)

        return apply

    def read(self, deliveries: Sequence[Delivery]) -> list[Read]:
        decisions = [d for d in deliveries if d.topic == self.decisions_topic]
        cases = [d for d in deliveries if d.topic != self.decisions_topic]
        # By identity, not by hash: a frozen dataclass hashes every field, the message's bytes too.
        read: dict[int, ProjectedEvent | Rejection] = {
            id(d): event
            for d, event in zip(decisions, parse_decision_events([d.value for d in decisions]), strict=True)
        }
        read.update(
            (id(d), event)
            for d, event in zip(cases, parse_case_events([d.value for d in cases]), strict=True)
        )
        return [(d, read[id(d)]) for d in deliveries]


async def project_events(conn: DbConnection, read: Sequence[Read], projection: Projection) -> BatchReport:
    """Apply a read batch (already deduplicated by the consumer) to ``projection``'s read model."""
    events: list[ProjectedEvent] = []
    kinds: list[str] = []
    rejected: list[str] = []
    for delivery, event in read:
        if isinstance(event, Rejection):
            log.warning(
                "message skipped",
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
                reason=str(event.reason),
                detail=event.detail,
            )
            rejected.append(str(event.reason))
            kinds.append(INVALID)
        else:
            events.append(event)
            kinds.append(event.type)
    read_model = projection.read_model
    states = await read_model.lock_persons(conn, list({e.person for e in events}))
    changed, deltas = project_batch(states, events)
    if raced := await read_model.save(conn, changed, deltas, stored=states.keys()):
        # Another consumer stored some of the batch's new persons first (a rebalance, or the cases and
        # the decisions of a person on two replicas): fold the batch again from their stored states.
        # Every person it changes has a row now (the others were inserted by the first save).
        states = {**states, **await read_model.lock_persons(conn, raced)}
        changed, deltas = project_batch(states, events)
        await read_model.save(conn, changed, deltas, stored=changed.keys())
    return BatchReport(kinds, rejected)
