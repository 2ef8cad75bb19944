"""The figures the read model counts, and the cell of the daily table each count lands in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Final, NamedTuple


class Metric(StrEnum):
    """A figure of the daily table (column `metric`); all but the last are the summary's names."""

    CASES_OPENED = "cases_opened"
    VOLUNTARY_RETURNS = "voluntary_returns"
    DETAINED = "detained"
    AMNESTIES_GRANTED = "amnesties_granted"
    AMNESTIES_DENIED = "amnesties_denied"
    PENDING = "pending"
    REVOKED = "revoked"
    OPEN_CASES_CHANGE = "open_cases_change"
    """Not a count of the day: the day's change of the open cases (+1 opened, -1 ended, ±1 reclassified).
    Open cases as of a date are the sum of the changes up to it."""


UNKNOWN: Final = "unknown"
"""The region or article of a figure whose person has no known case yet (and no region of its own)."""

NO_LABEL: Final = ""
"""The regime of a figure that is not a grant, the reason of a grant: empty, never NULL (a key column)."""


class Cell(NamedTuple):
    """Where a count lands: metric, business date, region, article, and the decision's regime or reason.

    A tuple (cheap to make, hash and sort: the fold makes many), ordered like the table's primary key.
    """

    metric: Metric
    day: date
    region: str
    article: str
    regime: str = NO_LABEL
    reason: str = NO_LABEL


Counts = dict[Cell, int]
"""Counts per cell; as deltas, a count may be negative (a late event moving a figure elsewhere)."""


def difference(after: Mapping[Cell, int], before: Mapping[Cell, int]) -> Counts:
    """``after - before`` cell by cell, without the cells that do not change."""
    changed = {cell: n - before.get(cell, 0) for cell, n in after.items()}
    changed |= {cell: -n for cell, n in before.items() if cell not in after}
    return {cell: n for cell, n in changed.items() if n}


def add_into(total: Counts, deltas: Mapping[Cell, int]) -> None:
    """Accumulate ``deltas`` into ``total``, dropping cells that come back to zero."""
    for cell, n in deltas.items():
        value = total.get(cell, 0) + n
        if value:
            total[cell] = value
        else:
            total.pop(cell, None)


def count(cells: Iterable[Cell]) -> Counts:
    """One per occurrence of each cell."""
    counts: Counts = {}
    for cell in cells:
        counts[cell] = counts.get(cell, 0) + 1
    return counts
