"""Rejected messages as an operator sees them, and which of them may be re-driven through intake.

A rejected message is named by where it sits on the rejected topic (``partition:offset``): stable, unique,
short to type. Re-driving sends its original bytes back to intake; nothing is re-driven twice, a message
kept only in part (cut at 64 KiB) or refused by another service is never re-driven, and a selection by
filter never sends bytes that were re-driven already (so the rejection of a re-driven message that is
still bad is not picked up again: no loop).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from amnesty_contracts import MAX_MESSAGE_BYTES, RejectedMessage, RejectionReason

INTAKE = "intake"
_ID = re.compile(r"([0-9]{1,9}):([0-9]{1,18})")


@dataclass(frozen=True, slots=True, order=True)
class RejectedId:
    """Where a rejected message sits on the rejected topic."""

    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> RejectedId:
        """``P:O`` as printed by ``list``; ValueError when ``text`` is not that."""
        match = _ID.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a rejected message's id: write PARTITION:OFFSET, e.g. 2:17")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.partition}:{self.offset}"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A rejected message read back from the rejected topic, with its Kafka key (the original's)."""

    id: RejectedId
    key: bytes | None
    message: RejectedMessage

    @property
    def original(self) -> bytes:
        return self.message.original_bytes()

    @property
    def cut(self) -> bool:
        """Only part of the original is kept (it was over 64 KiB, or its key was, which its dead letter
        keeps the first 64 KiB of): it can be read, never re-driven. Sent under a cut key, it would be
        another record, on another partition, out of its key's order."""
        return self._cut(self.original)

    def _cut(self, original: bytes) -> bool:
        if self.key is not None and len(self.key) >= MAX_MESSAGE_BYTES:
            return True
        return hashlib.sha256(original).hexdigest() != self.message.original_sha256

    @property
    def rejected_at(self) -> datetime:
        return self.message.rejected_at

    @property
    def service(self) -> str:
        return self.message.service

    @property
    def original_sha256(self) -> str:
        return self.message.original_sha256


class Redrivable(Protocol):
    """What deciding whether to re-drive a rejected message reads of it."""

    @property
    def id(self) -> RejectedId: ...
    @property
    def cut(self) -> bool: ...
    @property
    def service(self) -> str: ...
    @property
    def original_sha256(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rejected message without its original: what a redrive by filter keeps of each one it reads
    (the topic may hold many, each up to 87 KiB), until it knows which few it sends."""

    id: RejectedId
    rejected_at: datetime
    reason: str
    detail: str
    service: str
    original_sha256: str
    cut: bool
    size: int
    """Of the original kept."""

    @classmethod
    def of(cls, rejected: Rejected) -> Candidate:
        message = rejected.message
        original = rejected.original  # decoded once, for both its digest and its size
        return cls(
            rejected.id,
            message.rejected_at,
            str(message.reason),
            message.detail,
            message.service,
            message.original_sha256,
            rejected._cut(original),
            len(original),
        )


@dataclass(frozen=True, slots=True)
class Filter:
    """Which rejected messages an operator asks for; unset parts match everything."""

    reason: RejectionReason | None = None
    service: str | None = None
    since: datetime | None = None
    """Inclusive."""
    until: datetime | None = None
    """Exclusive."""

    @property
    def empty(self) -> bool:
        return self == Filter()

    def matches(self, rejected: Rejected) -> bool:
        message = rejected.message
        return (
            (self.reason is None or message.reason == self.reason)
            and (self.service is None or message.service == self.service)
            and (self.since is None or message.rejected_at >= self.since)
            and (self.until is None or message.rejected_at < self.until)
        )


@dataclass(frozen=True, slots=True)
class Redrive:
    """A recorded redrive of one rejected message: when, and whether intake's relay has sent it yet."""

    redriven_at: datetime
    queued: bool


class Refusal(StrEnum):
    """Why a selected rejected message is not re-driven."""

    ALREADY_REDRIVEN = "already re-driven"
    SAME_BYTES_REDRIVEN = "the same bytes were re-driven already"
    CUT = f"cut at 64 KiB: only the first {MAX_MESSAGE_BYTES} bytes are kept, the rest is lost"
    NOT_INTAKE = "refused by another service, not by intake: it does not go back through intake"


R = TypeVar("R", bound=Redrivable)


@dataclass(frozen=True, slots=True)
class RedrivePlan(Generic[R]):
    """What a redrive sends, in order, and what it leaves, with why."""

    send: list[R]
    refused: list[tuple[R, Refusal]]
    left: int
    """Re-drivable messages beyond the limit: the next run takes them."""


def plan_redrive(
    selected: Sequence[R],
    redriven: Iterable[Redrivable],
    *,
    by_id: bool,
    limit: int | None = None,
) -> RedrivePlan[R]:
    """Which of ``selected`` (in the order given) to send; ``redriven`` are those re-driven before.

    Chosen by id, a message is sent unless it was re-driven itself: the operator names it after another
    fix. Chosen by filter, bytes re-driven before (from any rejected message) are not sent again: their
    new rejection is the outcome of that redrive, not something to send back automatically.
    """
    redriven = list(redriven)
    before = {r.id for r in redriven}
    sent_bytes = set() if by_id else {r.original_sha256 for r in redriven}
    send: list[R] = []
    refused: list[tuple[R, Refusal]] = []
    left = 0
    for rejected in selected:
        refusal = _refusal(rejected, before, sent_bytes)
        if refusal is not None:
            refused.append((rejected, refusal))
        elif limit is not None and len(send) >= limit:
            left += 1
        else:
            send.append(rejected)
            sent_bytes.add(rejected.original_sha256)
    return RedrivePlan(send, refused, left)


def _refusal(rejected: Redrivable, before: set[RejectedId], sent_bytes: set[str]) -> Refusal | None:
    if rejected.id in before:
        return Refusal.ALREADY_REDRIVEN
    if rejected.service != INTAKE:
        return Refusal.NOT_INTAKE
    if rejected.cut:
        return Refusal.CUT
    if rejected.original_sha256 in sent_bytes:
        return Refusal.SAME_BYTES_REDRIVEN
    return None


def readable_original(raw: bytes) -> str:
    """The original for a terminal: JSON indented, other text with control characters escaped, bytes that
    are not UTF-8 as a Python bytes literal. Never interpreted as markup by the caller's console."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return repr(raw)
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return "".join(c if c.isprintable() or c in "\n\t" else _escaped(c) for c in text)


def _escaped(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
