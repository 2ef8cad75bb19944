"""The world as upstream systems would send it: submissions in publication order, with real-world disorder.

Disorder, as upstream systems are not ordered with each other: some returns are sent before the case
they belong to, some submissions are sent again, and a few messages are malformed. None of these change
a business figure: resends are the same submission, malformed ones are rejected.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

import orjson

from amnesty_simulator.world import World

# Simulated send times are wall-clock moments in Kyiv without a zone: only their order matters.
_NEVER = datetime(1, 1, 1)  # noqa: DTZ001

T = TypeVar("T")


@dataclass(frozen=True)
class Disorder:
    returns_before_case: float = 0.03
    resent: float = 0.01
    malformed: float = 0.0005


@dataclass(frozen=True, order=True)
class Outgoing:
    """One message for amnesty.upstream.v1, with the simulated moment it is sent."""

    at: datetime
    key: bytes
    value: bytes


class _Ids:
    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def __call__(self, source: str) -> str:
        n = self._next.get(source, 0) + 1
        self._next[source] = n
        return f"{source}-{n:08d}"


def _at(day: Any, rng: random.Random) -> datetime:
    return datetime.combine(day, time(hour=rng.randint(8, 19), minute=rng.randint(0, 59)))


def _message(submission: dict[str, Any], at: datetime) -> Outgoing:
    # orjson writes what json.dumps(separators=(",", ":")) writes for these documents (ASCII text, no
    # floats), in C: a fifth of the simulator's time went to the standard library's encoder.
    return Outgoing(
        at, f"{submission['source']}:{submission['submission_id']}".encode(), orjson.dumps(submission)
    )


def facts(world: World) -> int:
    """How many facts the world holds: each becomes one submission (before resends and malformed ones)."""
    kinds = (world.returns, world.cases, world.detentions, world.reclassifications, world.closures)
    return sum(len(kind) for kind in kinds)


def _reported(items: Sequence[T], advance: Callable[[int], None], every: int = 10_000) -> Iterator[T]:
    """``items``, with ``advance(n)`` called after every ``every`` of them."""
    for start in range(0, len(items), every):
        yield from items[start : start + every]
        advance(min(every, len(items) - start))


def submissions(
    world: World,
    *,
    seed: int,
    disorder: Disorder | None = None,
    advance: Callable[[int], None] = lambda _facts: None,
) -> list[Outgoing]:
    """Every fact of the world as a submission, sorted by the moment it is sent.

    ``advance(n)`` is called as facts are written, ``facts(world)`` in all (for a progress bar)."""
    rng, ids, d = random.Random(seed + 1), _Ids(), disorder or Disorder()
    late_cases: dict[str, datetime] = {}
    out: list[Outgoing] = []
    for r in _reported(world.returns, advance):
        channel_source = {
            "unit": f"unit-{rng.randint(1, 400)}",
            "reserve-battalion": f"reserve-battalion-{rng.randint(1, 17)}",
        }
        source = channel_source.get(r.channel, r.channel)
        sent = _at(r.returned_on, rng)
        if (
            r.case.registered_on >= r.returned_on - timedelta(days=10)
            and rng.random() < d.returns_before_case * 10
        ):
            late_cases[r.case.case_number] = sent + timedelta(days=rng.randint(1, 3))
        out.append(
            _message(
                {
                    "type": "VoluntaryReturn",
                    "source": source,
                    "submission_id": ids(source),
                    "person_id": r.case.person,
                    "returned_on": r.returned_on.isoformat(),
                    "channel": r.channel,
                    "case_number": r.case.case_number,
                    "region": r.case.region,
                },
                sent,
            )
        )
    for c in _reported(world.cases, advance):
        sent = max(_at(c.registered_on, rng), late_cases.get(c.case_number, _NEVER))
        out.append(
            _message(
                {
                    "type": "CaseOpened",
                    "source": "erdr",
                    "submission_id": ids("erdr"),
                    "person_id": c.person,
                    "case_number": c.case_number,
                    "article": c.article,
                    "absent_since": c.absent_since.isoformat(),
                    "registered_on": c.registered_on.isoformat(),
                    "region": c.region,
                    "branch": c.branch,
                },
                sent,
            )
        )
    for det in _reported(world.detentions, advance):
        out.append(
            _message(
                {
                    "type": "Detained",
                    "source": "military-police",
                    "submission_id": ids("military-police"),
                    "person_id": det.case.person,
                    "detained_on": det.detained_on.isoformat(),
                    "case_number": det.case.case_number,
                    "region": det.case.region,
                },
                _at(det.detained_on, rng),
            )
        )
    for rc in _reported(world.reclassifications, advance):
        out.append(
            _message(
                {
                    "type": "CaseReclassified",
                    "source": "erdr",
                    "submission_id": ids("erdr"),
                    "person_id": rc.case.person,
                    "case_number": rc.case.case_number,
                    "article": "408",
                    "reclassified_on": rc.reclassified_on.isoformat(),
                },
                _at(rc.reclassified_on, rng),
            )
        )
    for cl in _reported(world.closures, advance):
        out.append(
            _message(
                {
                    "type": "CaseClosed",
                    "source": "court-registry",
                    "submission_id": ids("court-registry"),
                    "person_id": cl.case.person,
                    "case_number": cl.case.case_number,
                    "closed_on": cl.closed_on.isoformat(),
                    "outcome": cl.outcome,
                },
                _at(cl.closed_on, rng),
            )
        )
    out += [
        Outgoing(m.at + timedelta(hours=rng.randint(1, 72)), m.key, m.value)
        for m in rng.sample(out, round(len(out) * d.resent))
    ]
    if out:  # a tiny scale can leave nothing to send, and so no time to send a malformed message at
        out += [_malformed(rng, rng.choice(out).at) for _ in range(max(1, round(len(out) * d.malformed)))]
    # In Outgoing's order (send time, then key, then value), each message's key made once: the
    # dataclass's own comparison built two tuples at every comparison of the sort (up to 5.9 million
    # for the whole history: that many for its 346,708 messages in random order).
    out.sort(key=lambda m: (m.at, m.key, m.value))
    return out


_BROKEN = (
    b'{"type": "CaseOpened", "source": "erdr", "submission_id": ',
    b'{"type": "CaseForgotten", "source": "erdr", "submission_id": "x", "person_id": "1"}',
    b'{"type": "VoluntaryReturn", "source": "army-plus", "submission_id": "x", "person_id": "1", '
    b'"returned_on": "2025-02-30", "channel": "army-plus"}',
    b"\xff\xfe not even text",
)


def _malformed(rng: random.Random, at: datetime) -> Outgoing:
    return Outgoing(
        at, b"malformed", rng.choice(_BROKEN).replace(b'"x"', f'"bad-{rng.randrange(10**9)}"'.encode())
    )
