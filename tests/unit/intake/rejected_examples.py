"""Rejected messages as read back from the rejected topic, and in-memory ports for the use cases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from amnesty_contracts import MAX_MESSAGE_BYTES, Rejection, RejectionReason, rejected_message
from amnesty_intake.domain.redrives import Redrive, Rejected, RejectedId

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)


def rejected(
    partition: int,
    offset: int,
    raw: bytes = b'{"type": "CaseOpened", "source": "erdr"}',
    *,
    reason: RejectionReason = RejectionReason.INVALID_FIELD,
    service: str = "intake",
    minutes: int = 0,
) -> Rejected:
    """The rejected message at ``partition:offset``, refused ``minutes`` after T0."""
    message = rejected_message(
        raw,
        Rejection(reason, "submission_id: field required"),
        topic="amnesty.upstream.v1",
        partition=0,
        offset=offset,
        service=service,
        now=T0 + timedelta(minutes=minutes),
    )
    return Rejected(RejectedId(partition, offset), b"record-1", message)


def cut(partition: int, offset: int) -> Rejected:
    """A message over 64 KiB: only its first 64 KiB are kept."""
    return rejected(
        partition, offset, b"{" + b" " * MAX_MESSAGE_BYTES + b"}", reason=RejectionReason.TOO_LARGE
    )


@dataclass
class FakeRejectedTopic:
    messages: list[Rejected]

    async def read(self) -> AsyncIterator[Rejected]:
        for message in self.messages:
            yield message


@dataclass
class FakeRedriveLog:
    log: dict[RejectedId, Redrive] = field(default_factory=dict)
    sent: list[bytes] = field(default_factory=list)

    async def redrives(self) -> dict[RejectedId, Redrive]:
        return dict(self.log)

    async def record(self, rejected: Sequence[Rejected]) -> list[RejectedId]:
        fresh = [r for r in rejected if r.id not in self.log]
        for r in fresh:
            self.log[r.id] = Redrive(T0, queued=True)
            self.sent.append(r.original)
        return [r.id for r in fresh]
