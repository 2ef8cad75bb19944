"""The months `amnesty simulate` spans, as --from and --to take them: real YYYY-MM months that the
published figures cover, the first not after the last; checked before anything is generated.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import typer

from amnesty_simulator.calibration import Month, month_of

_YYYY_MM = re.compile(r"[0-9]{4}-[0-9]{2}")


class YearMonth(NamedTuple):
    """A calibration Month, one command-line value (typer would take a plain tuple as two), shown YYYY-MM."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class CoveredMonth:
    """A typer `parser=` for --from and --to: a real YYYY-MM month from ``first`` to ``last``."""

    def __init__(self, first: Month, last: Month) -> None:
        self.first, self.last = YearMonth(*first), YearMonth(*last)

    def __call__(self, value: str | YearMonth) -> YearMonth:
        month = value if isinstance(value, YearMonth) else _parse(value)
        if not self.first <= month <= self.last:
            # Calibration has nothing to honour outside them: it would only carry a flat guess along.
            raise typer.BadParameter(
                f"{month} is outside {self.first}..{self.last}, the months the published figures cover"
            )
        return month


def _parse(text: str) -> YearMonth:
    if _YYYY_MM.fullmatch(text) is None:
        raise typer.BadParameter(f"{text!r} is not a month: write it YYYY-MM, e.g. 2024-11")
    try:
        return YearMonth(*month_of(text))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def check_order(ctx: typer.Context, first: YearMonth, last: YearMonth) -> None:
    """--to must not be before --from (each option alone cannot tell)."""
    if last < first:
        raise typer.BadParameter(f"{last} is before --from {first}", ctx=ctx, param_hint=["--to"])
