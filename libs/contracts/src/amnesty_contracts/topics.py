"""The four Kafka topics of the contract and what travels on each of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

UPSTREAM: Final = "amnesty.upstream.v1"
CASES: Final = "amnesty.cases.v1"
DECISIONS: Final = "amnesty.decisions.v1"
REJECTED: Final = "amnesty.rejected.v1"

ALL_TOPICS: Final[tuple[str, ...]] = (UPSTREAM, CASES, DECISIONS, REJECTED)

# docs/contract.md: "partitions configurable, 6 by default"; the stack reads its own setting, falling back
# on this one.
DEFAULT_PARTITIONS: Final = 6


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic of the contract, as the stack creates it and the AsyncAPI document describes it."""

    name: str
    title: str
    producer: str
    consumers: tuple[str, ...]
    key: str
    content: str
    domain: bool
    """Carries domain events (facts of this system) rather than inbound or dead-letter traffic."""
    unlimited_retention: bool
    raw_personal_data: bool
    """May hold raw identifiers (tax or service numbers): only upstream submissions and their rejections."""
    message_types: tuple[str, ...]


# Case events carry the same names as the submissions they record (docs/contract.md, "Topics").
_CASE_TYPES = ("CaseOpened", "VoluntaryReturn", "Detained", "CaseReclassified", "CaseClosed")
_DECISION_TYPES = ("AmnestyGranted", "AmnestyDenied", "EligibilityPending", "AmnestyRevoked")

# The domain topics are kept forever, so that a new projection can start from the beginning
# (docs/contract.md). The two that hold raw identifiers are flagged so operators know where personal
# data lives, and kept only as long as the stack is told (InfraSettings: upstream_retention_days, 30 by
# default, time to replay after an incident; rejected_retention_days, 90, time for a fix and a re-drive).
TOPICS: Final[Mapping[str, Topic]] = MappingProxyType(
    {
        UPSTREAM: Topic(
            name=UPSTREAM,
            title="Upstream submissions",
            producer="upstream systems",
            consumers=("intake",),
            key="the sending system's record id (any string)",
            content="Submissions from registers, units, military police, Army+ and courts",
            domain=False,
            unlimited_retention=False,
            raw_personal_data=True,
            message_types=_CASE_TYPES,
        ),
        CASES: Topic(
            name=CASES,
            title="Case events",
            producer="intake",
            consumers=("eligibility", "statistics"),
            key="the person pseudonym",
            content="Validated, pseudonymized facts about cases, returns and detentions",
            domain=True,
            unlimited_retention=True,
            raw_personal_data=False,
            message_types=_CASE_TYPES,
        ),
        DECISIONS: Topic(
            name=DECISIONS,
            title="Eligibility decisions",
            producer="eligibility",
            consumers=("statistics",),
            key="the person pseudonym",
            content="Amnesty decisions per voluntary return, each with its regime, rule set and facts",
            domain=True,
            unlimited_retention=True,
            raw_personal_data=False,
            message_types=_DECISION_TYPES,
        ),
        REJECTED: Topic(
            name=REJECTED,
            title="Rejected messages",
            producer="intake (and any consumer)",
            consumers=(),
            key="as received",
            content="Messages that failed validation, with the reason and the original bytes",
            domain=False,
            unlimited_retention=False,
            raw_personal_data=True,
            message_types=("RejectedMessage",),
        ),
    }
)
