"""What a service is to the processing runtime: a policy over a batch, and what a batch came to.

No Kafka and no PostgreSQL here: a service's policy is written and tested against these types, and
``processing`` wires it to the broker and the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

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


Prepared = TypeVar("Prepared")


def prepared_for(
    prepared: Sequence[tuple[Delivery, Prepared]], to_apply: Sequence[Delivery]
) -> list[tuple[Delivery, Prepared]]:
    """What ``prepare`` made of each delivery left to apply.

    ``to_apply`` is a subsequence of the prepared deliveries, the same objects in the same order (see
    ``Apply``), so one walk pairs them: no delivery is hashed (a frozen dataclass hashes every field,
    the message's bytes too), and a delivery that was never prepared fails loudly.
    """
    entries = iter(prepared)
    paired = []
    for delivery in to_apply:
        for entry in entries:
            if entry[0] is delivery:
                paired.append(entry)
                break
        else:
            raise LookupError("a delivery to apply was not among the prepared ones")
    return paired
