"""Which submissions of a batch are new, which resend known content, which contradict what was sent.

(`source`, `submission_id`) is the idempotency key: the same content again changes nothing, other content
under a known key is rejected as a conflicting duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from amnesty_contracts import Rejection, RejectionReason

SubmissionKey = tuple[str, str]


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A valid submission's idempotency key and keyed content digest."""

    key: SubmissionKey
    content: str


CONFLICT = Rejection(
    RejectionReason.CONFLICTING_DUPLICATE,
    "submission_id: already received from this source with other content",
)


def first_occurrences(candidates: Sequence[Candidate]) -> dict[SubmissionKey, str]:
    """The content each key first had in this batch: those are the ones to try to record."""
    first: dict[SubmissionKey, str] = {}
    for candidate in candidates:
        first.setdefault(candidate.key, candidate.content)
    return first


def classify(
    candidates: Sequence[Candidate], claimed: set[SubmissionKey], stored: Mapping[SubmissionKey, str]
) -> list[Verdict | Rejection]:
    """One answer per candidate, in order.

    ``claimed`` are the keys this batch recorded first; ``stored`` the content already recorded for the
    others. Within the batch, the first occurrence of a key decides and later ones compare with it.
    """
    first = first_occurrences(candidates)
    seen: set[SubmissionKey] = set()
    answers: list[Verdict | Rejection] = []
    for candidate in candidates:
        if candidate.key in claimed and candidate.key not in seen:
            answers.append(Verdict.ACCEPTED)
        else:
            reference = first[candidate.key] if candidate.key in claimed else stored[candidate.key]
            answers.append(Verdict.DUPLICATE if candidate.content == reference else CONFLICT)
        seen.add(candidate.key)
    return answers
