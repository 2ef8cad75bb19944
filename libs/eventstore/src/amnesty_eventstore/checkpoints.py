"""Where a reader of all events stands: the commit-order key of the last event it has seen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True, slots=True)
class Checkpoint:
    """(transaction id, position) of the last event seen; later events compare greater.

    Commit order is the order of (transaction id, position), read only below the oldest running
    transaction. A position alone is not a checkpoint: a transaction that drew a lower position may
    still be committing. The field order makes Python's comparison the SQL row comparison.
    """

    transaction_id: int
    position: int

    def __post_init__(self) -> None:
        if self.transaction_id < 0 or self.position < 0:
            raise ValueError(f"a checkpoint is non-negative, got {self}")


START = Checkpoint(0, 0)
"""Before the first event."""
