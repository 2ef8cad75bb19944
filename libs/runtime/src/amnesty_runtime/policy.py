"""What a service is to the processing runtime: a policy over a batch, and what a batch came to.

No Kafka and no PostgreSQL here: a service's policy is written and tested against these types, and
``processing`` wires it to the broker and the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from amnesty_eventstore.connections import DbConnection
from amnesty_eventstore.consumption import AfterCommit, Delivery

INVALID = "invalid"
"""The message type counted for a message that is not a readable message of its topic."""


@dataclass(frozen=True, slots=True)
class BatchReport:
    """What a batch came to: each message's type (in order), the reasons of those rejected, and what to
    do once its transaction has committed (e.g. keep the state it wrote in memory)."""

    types: Sequence[str]
    rejected: Sequence[str] = field(default_factory=tuple)
    after_commit: AfterCommit | None = None


Apply = Callable[[DbConnection, Sequence[Delivery]], Awaitable[BatchReport]]
"""Applies the deliveries left after deduplication (a subset of the prepared ones, in order)."""


class Policy(Protocol):
    """A service's processing of a batch, in two steps."""

    @property
    def service(self) -> str: ...

    def prepare(self, deliveries: Sequence[Delivery]) -> Apply:
        """The stateless work on the whole batch; returns what applies it in the batch's transaction."""
        ...

    def forget(self) -> None:
        """Drop what the policy keeps in memory between batches: its partitions are moving elsewhere."""
        ...
