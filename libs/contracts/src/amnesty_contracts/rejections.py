"""Why a message was refused: errors as values, with a reason code and a detail safe to publish."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_MESSAGE_BYTES: Final = 64 * 1024
"""The largest message accepted (docs/contract.md: "over 64 KiB" is rejected); also the cap on `original`."""


# The contract names invalid-json, too-large, unknown-type, invalid-field and conflicting-duplicate as
# examples; invalid-encoding and not-an-object are added because "not UTF-8" and "a JSON array" are other
# mistakes than a syntax error, fixed differently upstream. A missing field is an invalid-field, as in the
# contract. The set is closed: it is the `reason` label of amnesty_messages_rejected_total.
class RejectionReason(StrEnum):
    """Why a message was rejected: the machine-readable code of a rejected message."""

    INVALID_ENCODING = "invalid-encoding"
    INVALID_JSON = "invalid-json"
    TOO_LARGE = "too-large"
    NOT_AN_OBJECT = "not-an-object"
    UNKNOWN_TYPE = "unknown-type"
    INVALID_FIELD = "invalid-field"
    CONFLICTING_DUPLICATE = "conflicting-duplicate"
    """Intake's verdict: (source, submission_id) resent with different content."""
    # A domain event whose producer is not proven (docs/contract.md, "Provenance"): a consumer's verdict.
    UNSIGNED = "unsigned"
    UNKNOWN_KEY = "unknown-key"
    BAD_SIGNATURE = "bad-signature"
    PRODUCER_NOT_ALLOWED = "producer-not-allowed"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused message: the reason code and a human-readable detail naming the field and the rule.

    The detail never quotes a value from the message, so it can be logged and published freely.
    """

    reason: RejectionReason
    detail: str
