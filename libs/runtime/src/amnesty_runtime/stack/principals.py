"""Who may do what on Kafka: the principals of the system and their ACLs (pure data, no I/O).

The broker denies whatever no ACL allows (``allow.everyone.if.no.acl.found=false``); only the admin, a
super user, is not subject to ACLs. Producers are idempotent (the outbox relay and the simulator ask for
it): since Kafka 3.0 (KIP-679) WRITE on the topic is enough for that, so no principal holds the
cluster-wide IDEMPOTENT_WRITE. WRITE and READ imply DESCRIBE on the same resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from amnesty_contracts.topics import CASES, DECISIONS, REJECTED, UPSTREAM

ADMIN = "admin"
"""The stack's own super user: creates topics, users and ACLs; the test suite's fixtures use it."""
UPSTREAM_PRINCIPAL = "upstream"
"""An upstream system: may only produce submissions."""
OPERATOR = "operator"
"""A person on call: reads the raw topics (upstream, rejected), e.g. with `amnesty rejected`."""
SERVICE_PRINCIPALS = ("intake", "eligibility", "statistics")

PRINCIPALS: tuple[str, ...] = (ADMIN, *SERVICE_PRINCIPALS, UPSTREAM_PRINCIPAL, OPERATOR)


class ResourceType(IntEnum):
    """Kafka's wire codes (org.apache.kafka.common.resource.ResourceType)."""

    TOPIC = 2
    GROUP = 3


class PatternType(IntEnum):
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    READ = 3
    WRITE = 4
    DESCRIBE = 8


ALLOW = 3
"""AclPermissionType.ALLOW; nothing here denies explicitly: what is not allowed is denied."""


@dataclass(frozen=True, order=True)
class Acl:
    principal: str
    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    operation: Operation

    @property
    def kafka_principal(self) -> str:
        return f"User:{self.principal}"


def _topics(principal: str, operation: Operation, *names: str) -> list[Acl]:
    return [Acl(principal, ResourceType.TOPIC, n, PatternType.LITERAL, operation) for n in names]


def _groups(principal: str, *prefixes: str) -> list[Acl]:
    # READ on a group (join, commit, fetch offsets) implies DESCRIBE (listing its offsets, lag).
    return [Acl(principal, ResourceType.GROUP, p, PatternType.PREFIXED, Operation.READ) for p in prefixes]


def contract_acls() -> list[Acl]:
    """The ACLs of the contract's topics (docs/contract.md), per principal.

    Consumer groups are prefixed by the service's name: a service's groups are its default group,
    the statistics read model's versioned ``statistics-vN`` groups, and the ``amnesty-<service>-...``
    groups its readers name after their client id (lag, rebuild).
    """
    return sorted(
        [
            # intake: reads submissions, records cases and dead letters, and sends re-driven originals
            # back to its own input (`amnesty rejected redrive` queues them on intake's outbox).
            *_topics("intake", Operation.READ, UPSTREAM),
            *_topics("intake", Operation.WRITE, UPSTREAM, CASES, REJECTED),
            *_groups("intake", "intake", "amnesty-intake"),
            # eligibility: reads cases, records decisions and dead letters.
            *_topics("eligibility", Operation.READ, CASES),
            *_topics("eligibility", Operation.WRITE, DECISIONS, REJECTED),
            *_groups("eligibility", "eligibility", "amnesty-eligibility"),
            # statistics: reads cases and decisions, writes only its dead letters (events refused as forged).
            *_topics("statistics", Operation.READ, CASES, DECISIONS),
            *_topics("statistics", Operation.WRITE, REJECTED),
            *_groups("statistics", "statistics", "amnesty-statistics"),
            # upstream: produces submissions, reads nothing.
            *_topics(UPSTREAM_PRINCIPAL, Operation.WRITE, UPSTREAM),
            # operator: reads the topics with raw identifiers (inspection, `amnesty rejected`).
            *_topics(OPERATOR, Operation.READ, UPSTREAM, REJECTED),
            *_groups(OPERATOR, "operator", "amnesty-operator"),
        ]
    )
