"""The operator's use cases on rejected messages: list them, show some, re-drive them through intake.

Each reads the rejected topic once, to its current end, and intake's redrive log; ``redrive`` records
what it sends in that log in the same transaction as it queues the originals on intake's outbox, so a
redrive run again, or after a crash half way, sends nothing twice. The ports are declared here, beside
the only use cases that need them (PostgreSQL and Kafka: ``adapters.redrive_log``,
``adapters.rejected_topic``).
"""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from amnesty_intake.domain.redrives import (
    Candidate,
    Filter,
    Redrive,
    RedrivePlan,
    Rejected,
    RejectedId,
    plan_redrive,
)


class RejectedTopic(Protocol):
    """The rejected topic, read back as an operator looks at it."""

    def read(self) -> AsyncIterator[Rejected]:
        """Every rejected message on the topic as of now."""
        ...


class RedriveLog(Protocol):
    """What was re-driven, recorded durably with the messages it sends back to intake."""

    async def redrives(self) -> dict[RejectedId, Redrive]:
        """Every rejected message of the topic re-driven so far."""
        ...

    async def record(self, rejected: Sequence[Rejected]) -> list[RejectedId]:
        """Record ``rejected`` as re-driven and queue their originals for intake, in one transaction and
        in order; those recorded before (by another run) are neither recorded nor queued again. Returns
        the ones queued now."""
        ...


@dataclass(frozen=True, slots=True)
class Listing:
    """The newest rejected messages that match, oldest first, with what was re-driven."""

    shown: list[Rejected]
    matching: int
    redrives: dict[RejectedId, Redrive]
    redriven_bytes: dict[str, RejectedId]
    """original_sha256 of every re-driven message -> that message: its copies are not re-driven again."""


def _order(rejected: Rejected | Candidate) -> tuple[datetime, RejectedId]:
    return rejected.rejected_at, rejected.id


async def list_rejected(topic: RejectedTopic, log: RedriveLog, selection: Filter, limit: int) -> Listing:
    """The ``limit`` newest rejected messages ``selection`` matches (memory bounded by ``limit``)."""
    redrives = await log.redrives()
    newest: list[tuple[datetime, RejectedId, Rejected]] = []
    matching = 0
    redriven_bytes: dict[str, RejectedId] = {}
    async for rejected in topic.read():
        if rejected.id in redrives:
            redriven_bytes.setdefault(rejected.message.original_sha256, rejected.id)
        if not selection.matches(rejected):
            continue
        matching += 1
        entry = (*_order(rejected), rejected)
        if len(newest) < limit:
            heapq.heappush(newest, entry)
        else:
            heapq.heappushpop(newest, entry)
    shown = [rejected for _, _, rejected in sorted(newest, key=lambda e: (e[0], e[1]))]
    return Listing(shown, matching, redrives, redriven_bytes)


@dataclass(frozen=True, slots=True)
class Found:
    """The rejected messages asked for by id, and the ids not on the topic."""

    found: list[Rejected]
    missing: list[RejectedId]
    redrives: dict[RejectedId, Redrive]


async def find_rejected(topic: RejectedTopic, log: RedriveLog, ids: Sequence[RejectedId]) -> Found:
    """The rejected messages with ``ids``, in the order asked."""
    wanted = set(ids)
    found = {r.id: r async for r in topic.read() if r.id in wanted}
    return Found(
        [found[i] for i in dict.fromkeys(ids) if i in found],
        [i for i in dict.fromkeys(ids) if i not in found],
        await log.redrives(),
    )


@dataclass(frozen=True, slots=True)
class RedriveReport:
    """What a redrive chose, what it queued for intake, and the ids asked for that are not on the topic
    (or, chosen by filter, that were gone from it when their originals were read again)."""

    plan: RedrivePlan[Candidate]
    queued: list[RejectedId] = field(default_factory=list)
    missing: list[RejectedId] = field(default_factory=list)
    dry_run: bool = False

    @property
    def raced(self) -> list[RejectedId]:
        """Planned, but recorded by another run meanwhile: that run sent them, this one did not."""
        queued = set(self.queued)
        return [] if self.dry_run else [r.id for r in self.plan.send if r.id not in queued]


async def redrive(
    topic: RejectedTopic,
    log: RedriveLog,
    *,
    ids: Sequence[RejectedId] = (),
    selection: Filter | None = None,
    limit: int | None = None,
    dry_run: bool = False,
) -> RedriveReport:
    """Send the originals of the rejected messages chosen by ``ids`` (in that order) or by ``selection``
    (oldest first, at most ``limit``) back to intake; with ``dry_run``, only say which."""
    by_id = bool(ids)
    wanted = set(ids)

    def chosen_now(rejected: Rejected) -> bool:
        if by_id:
            return rejected.id in wanted
        return selection is not None and selection.matches(rejected)

    # Of each message only what the choice needs (no original): a filter may match many, and only the
    # few sent need their originals, read again below. By id, the few asked for are kept whole.
    redrives = await log.redrives()
    redriven: list[Candidate] = []
    chosen: list[Candidate] = []
    whole: dict[RejectedId, Rejected] = {}
    async for rejected in topic.read():
        if rejected.id in redrives:
            redriven.append(Candidate.of(rejected))
        if chosen_now(rejected):
            chosen.append(Candidate.of(rejected))
            if by_id:
                whole[rejected.id] = rejected
    if by_id:
        position = {rejected_id: n for n, rejected_id in enumerate(dict.fromkeys(ids))}
        chosen.sort(key=lambda r: position[r.id])
    else:
        chosen.sort(key=_order)
    plan = plan_redrive(chosen, redriven, by_id=by_id, limit=None if by_id else limit)
    found = {r.id for r in chosen}
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if dry_run or not plan.send:
        return RedriveReport(plan, missing=missing, dry_run=dry_run)
    if not by_id:
        sending = {c.id for c in plan.send}
        whole = {r.id: r async for r in topic.read() if r.id in sending}
    send = [whole[c.id] for c in plan.send if c.id in whole]
    missing += [c.id for c in plan.send if c.id not in whole]  # gone from the topic meanwhile
    return RedriveReport(plan, await log.record(send), missing)
