"""The simulated world: persons, their cases, returns, detentions, reclassifications and court outcomes.

Pure and seeded: the same calendar, targets, scale and seed give the same world. Business dates are what
the statistics count, so case registrations follow the calibrated calendar month by month exactly, and
voluntary returns follow the published cumulative figures since the first window opened.
"""

from __future__ import annotations

import bisect
import calendar
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from amnesty_simulator.calibration import (
    WINDOW_OPENED,
    CaseCalendar,
    Month,
    ReturnTarget,
    apportion,
    months_between,
)
from amnesty_simulator.regions import REGION_WEIGHTS

# The regimes' windows (docs/domain.md §2): returns concentrate inside them.
WINDOWS = ((date(2024, 11, 29), date(2025, 3, 1)), (date(2025, 5, 10), date(2025, 8, 30)))
CHANNELS = {
    "army-plus": 35,
    "unit": 25,
    "reserve-battalion": 25,
    "military-police": 10,
    "sbi": 3,
    "police": 2,
}
BRANCHES = {"ZSU": 85, "NGU": 8, "DPSU": 5, "DSST": 2}


@dataclass(frozen=True)
class Shares:
    """The simulator's assumptions, none published: kept together so they are easy to find and change."""

    repeat_offence: float = 0.03  # share of new cases, once returns exist, that are a returnee's new absence
    detained_per_month: float = 0.004  # of open cases
    released_after_window_return: float = 0.3  # courts close a returnee's case (art. 401 part 5)
    convicted_after_detention: float = 0.4
    reclassified: float = 0.01  # 407 -> 408
    returns_before_windows_per_month: float = 0.004  # of open cases, general procedure from Sep 2024
    eligible_pick: float = 0.9  # a window return usually belongs to an absence the window covers


@dataclass
class Case:
    person: str
    case_number: str
    article: str
    absent_since: date
    registered_on: date
    region: str
    branch: str
    ended: bool = False


@dataclass(frozen=True)
class Return:
    case: Case
    returned_on: date
    channel: str


@dataclass(frozen=True)
class Detention:
    case: Case
    detained_on: date


@dataclass(frozen=True)
class Closure:
    case: Case
    closed_on: date
    outcome: str


@dataclass(frozen=True)
class Reclassification:
    case: Case
    reclassified_on: date


@dataclass
class World:
    cases: list[Case] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    detentions: list[Detention] = field(default_factory=list)
    closures: list[Closure] = field(default_factory=list)
    reclassifications: list[Reclassification] = field(default_factory=list)


def scaled(value: int, scale: float) -> int:
    return round(value * scale)


def daily_returns(targets: list[ReturnTarget], scale: float, last: date) -> dict[date, int]:
    """Returns per day from the first window's opening, matching each published cumulative figure.

    "At least" figures are aimed 2 % above, "approx" ones at the figure; days inside a window weigh
    far more than days between windows, and a window's first week brings a surge.
    """
    daily: dict[date, int] = {}
    start, reached = WINDOW_OPENED, 0
    for target in targets:
        if target.on > last:
            break
        aim = scaled(round(target.value * (1.02 if target.qualifier == "at_least" else 1.0)), scale)
        days = [start + timedelta(days=i) for i in range((target.on - start).days + 1)]
        for day, n in zip(days, apportion(aim - reached, [_attraction(d) for d in days]), strict=True):
            daily[day] = n
        reached, start = aim, target.on + timedelta(days=1)
    return daily


def _attraction(day: date) -> float:
    for opened, closed in WINDOWS:
        if opened <= day <= closed:
            return 6.0 if (day - opened).days < 7 else 1.0
    return 0.08


@dataclass(frozen=True)
class _Weighted:
    """A choice among names by weight, with the cumulative weights summed once rather than at every
    draw (two draws per case and one per return, about 600,000 in the whole history); ``random.choices``
    draws the same name from them as from the weights, so the same seed gives the same history."""

    names: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weights: dict[str, int] | dict[str, float]) -> _Weighted:
        return cls(tuple(weights), tuple(itertools.accumulate(weights.values())))

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.names, cum_weights=self.cumulative)[0]


_REGIONS, _BRANCHES, _CHANNELS = (_Weighted.of(w) for w in (REGION_WEIGHTS, BRANCHES, CHANNELS))


def _day_in(rng: random.Random, month: Month) -> date:
    return date(month[0], month[1], rng.randint(1, calendar.monthrange(*month)[1]))


class _Builder:
    def __init__(self, rng: random.Random, shares: Shares, last_day: date) -> None:
        self.rng, self.shares, self.last_day = rng, shares, last_day
        self.world = World()
        self.open_by_absence: list[tuple[date, int]] = []  # (absent_since, index into world.cases), sorted
        self._opened_today: list[tuple[date, int]] = []
        self.open_count = 0
        self.returnees: list[tuple[date, str]] = []  # (returned_on, person) who may absent again
        self._serial = 0

    def person_id(self) -> str:
        return str(self.rng.randrange(10**9, 10**10))

    def case_number(self, registered: date) -> str:
        self._serial += 1
        return f"{registered.year:04d}{self.rng.randrange(10**4, 10**5)}{self._serial:08d}"[:17].rjust(
            17, "1"
        )

    def open_case(self, article: str, registered: date) -> None:
        absent = registered - timedelta(days=self.rng.randint(4, 40))
        person = self._returnee_again(absent) or self.person_id()
        case = Case(
            person,
            self.case_number(registered),
            article,
            absent,
            registered,
            _REGIONS.pick(self.rng),
            _BRANCHES.pick(self.rng),
        )
        self.world.cases.append(case)
        self._opened_today.append((absent, len(self.world.cases) - 1))
        self.open_count += 1
        if article == "407" and self.rng.random() < self.shares.reclassified:
            on = registered + timedelta(days=self.rng.randint(10, 90))
            if on <= self.last_day:
                self.world.reclassifications.append(Reclassification(case, on))

    def end_of_registrations(self) -> None:
        """Merge the day's new cases in, keeping the list sorted.

        Only the tail from the day's earliest absence on is re-sorted: a new case's absence began at most
        40 days before it was registered, so the day's cases all fall near the end. Sorting the whole
        list each day, though linear for a nearly sorted list, compared every pair of neighbours on each
        of the ~1,370 days: 60% of the simulator's time for the whole history.
        """
        if not self._opened_today:
            return
        cases = self.open_by_absence
        start = bisect.bisect_left(cases, min(self._opened_today))
        tail = cases[start:] + self._opened_today
        tail.sort()
        cases[start:] = tail
        self._opened_today.clear()

    def _returnee_again(self, absent: date) -> str | None:
        if not self.returnees or self.rng.random() >= self.shares.repeat_offence:
            return None
        upto = bisect.bisect_left(self.returnees, (absent - timedelta(days=7), ""))
        if upto == 0:
            return None
        return self.returnees.pop(self.rng.randrange(upto))[1]

    def end_open_case(self, on: date, cutoff: date | None) -> Case | None:
        """An open case whose absence began 4 days before ``on`` or earlier (before ``cutoff`` if given)."""
        limit = on - timedelta(days=4)
        if cutoff is not None and self.rng.random() < self.shares.eligible_pick:
            limit = min(limit, cutoff - timedelta(days=1))
        upto = bisect.bisect_right(self.open_by_absence, (limit, len(self.world.cases)))
        for _ in range(50):
            if upto == 0:
                return None
            _, index = self.open_by_absence[self.rng.randrange(upto)]
            case = self.world.cases[index]
            if not case.ended and case.registered_on <= on + timedelta(days=10):
                case.ended = True
                self.open_count -= 1
                return case
        return None

    def voluntary_return(self, on: date) -> None:
        cutoff = next((opened for opened, closed in WINDOWS if opened <= on <= closed), None)
        case = self.end_open_case(on, cutoff)
        if case is None:
            return
        self.world.returns.append(Return(case, on, _CHANNELS.pick(self.rng)))
        bisect.insort(self.returnees, (on, case.person))
        if cutoff is not None and self.rng.random() < self.shares.released_after_window_return:
            closed = on + timedelta(days=self.rng.randint(60, 200))
            if closed <= self.last_day:
                self.world.closures.append(Closure(case, closed, "released"))

    def detain(self, on: date) -> None:
        case = self.end_open_case(on, None)
        if case is None:
            return
        self.world.detentions.append(Detention(case, on))
        if self.rng.random() < self.shares.convicted_after_detention:
            closed = on + timedelta(days=self.rng.randint(90, 300))
            if closed <= self.last_day:
                self.world.closures.append(Closure(case, closed, "convicted"))


def generate(
    cases: CaseCalendar,
    targets: list[ReturnTarget],
    *,
    first: Month,
    last: Month,
    scale: float = 1.0,
    seed: int = 2024,
    shares: Shares | None = None,
    advance: Callable[[int], None] = lambda _months: None,
) -> World:
    """The world for the months ``first``..``last``, ``scale`` times the published volumes.

    ``advance(1)`` is called as each month is done (for a progress bar; it changes nothing generated)."""
    rng = random.Random(seed)
    last_day = date(last[0], last[1], calendar.monthrange(*last)[1])
    builder = _Builder(rng, shares or Shares(), last_day)
    returns_per_day = daily_returns(targets, scale, last_day)
    for month in months_between(first, last):
        registrations = sorted(
            (_day_in(rng, month), article)
            for article in ("407", "408")
            for _ in range(scaled(cases.counts[(article, month)], scale))
        )
        days = [date(month[0], month[1], d) for d in range(1, calendar.monthrange(*month)[1] + 1)]
        by_day: dict[date, list[str]] = {}
        for day, article in registrations:
            by_day.setdefault(day, []).append(article)
        for day in days:
            for article in by_day.get(day, []):
                builder.open_case(article, day)
            builder.end_of_registrations()
            for _ in range(_returns_on(rng, builder, day, returns_per_day)):
                builder.voluntary_return(day)
            for _ in range(_poisson(rng, builder.open_count * builder.shares.detained_per_month / 30)):
                builder.detain(day)
        advance(1)
    return builder.world


def _returns_on(rng: random.Random, builder: _Builder, day: date, per_day: dict[date, int]) -> int:
    if day in per_day:
        return per_day[day]
    if day < WINDOW_OPENED and day >= date(2024, 9, 1):
        return _poisson(rng, builder.open_count * builder.shares.returns_before_windows_per_month / 30)
    return _poisson(rng, 2.0 if day > WINDOW_OPENED else 0.3)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method is fine for the small means used here; large ones fall back to a normal. A mean
    # that is not above 0 (NaN included: no p would ever fall below e**-NaN) draws nothing, so it ends.
    if not mean > 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = 2.718281828459045 ** (-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
