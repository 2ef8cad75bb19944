"""How much of the published history a simulation produces, and how fast: the --scale and --speed that
`amnesty simulate` and `amnesty demo` both take, parsed before any work starts.

Each parser is a typer `parser=`: it turns the command-line text (or the option's default) into the
value, or raises typer.BadParameter, which typer reports as "Invalid value for '--scale': ..." and exit 2.
"""

from __future__ import annotations

import math
from typing import Annotated, Final

import typer

MAX_SCALE: Final = 50.0
"""The simulator holds the whole generated history in memory before it publishes: measured peak RSS of
`amnesty simulate --dry-run` over 2022-01..2025-09 is 0.08 GB at scale 0.01, 0.36 GB at 1, 1.2 GB at 4 and
2.9 GB at 10, about 0.28 GB per unit of scale. At 50 that is about 14 GB, which leaves a 24 GB machine
room for Kafka, PostgreSQL and the three services. Time grows faster: 38 s at 1, 10 minutes at 10."""

SCALE_HELP: Final = (
    f"Share of the published volumes, above 0 and at most {MAX_SCALE:g}, e.g. 0.1. Memory grows with it: "
    f"about 0.3 GB per unit of scale, 14 GB at {MAX_SCALE:g}."
)
SPEED_HELP: Final = (
    "'max' (the default: as fast as the broker takes them), or simulated seconds per real second, "
    "above 0 (86400 = a day a second)."
)


def scale(value: str | float) -> float:
    """--scale: a finite number above 0 and at most MAX_SCALE."""
    number = _number(value)
    if number is None:
        raise typer.BadParameter(f"{value!r} is not a number; the scale is a share such as 0.1 or 2")
    if not 0 < number <= MAX_SCALE:
        raise typer.BadParameter(
            f"{value} is out of range: the scale must be above 0 and at most {MAX_SCALE:g}"
        )
    return number


def speed(value: str | float | None) -> float | None:
    """--speed: None for 'max' (no pacing), else simulated seconds per real second, finite and above 0."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "max"):
        return None
    number = _number(value)
    if number is None:
        raise typer.BadParameter(f"{value!r} is neither 'max' nor a number of simulated seconds per second")
    if not 0 < number < math.inf:
        raise typer.BadParameter(
            f"{value} is out of range: give 'max' or simulated seconds per real second, above 0"
        )
    return number


def _number(value: str | float) -> float | None:
    """The number ``value`` writes, or None; also for 'nan', which float() reads but which is no number."""
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isnan(number) else number


ScaleOption = Annotated[float, typer.Option(parser=scale, metavar="S", help=SCALE_HELP)]
"""``--scale`` as `amnesty demo` and `amnesty simulate` take it."""

SpeedOption = Annotated[
    float | None, typer.Option(parser=speed, metavar="max|N", show_default=False, help=SPEED_HELP)
]
"""``--speed`` as `amnesty demo` and `amnesty simulate` take it (None: as fast as the broker takes it)."""
