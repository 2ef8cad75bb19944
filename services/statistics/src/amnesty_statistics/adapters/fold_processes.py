"""A rebuild's fold spread over worker processes, each owning a share of the persons.

Parsing and folding are pure-Python CPU work, so one process folds on one core. Here the rebuild's own
process reads Kafka, shows progress and writes the result, while workers parse and fold: each owns the
persons whose Kafka key hashes to it, so all of a person's events meet in one worker, each topic's in
its order (the only order the fold needs: a return's decisions). A message whose key is not its
person's (nothing this system publishes) is handed to its person's owner before the fold ends.

Workers are forked, not spawned: they inherit the imported code (a spawned one would spend a second
importing it again) and the paused garbage collector, and they touch nothing else they inherit (no
socket, no logging: what they skipped is reported back).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from amnesty_contracts import Rejection, parse_case_events, parse_decision_events
from amnesty_eventstore.consumption import Delivery
from amnesty_statistics.adapters import person_states
from amnesty_statistics.domain.figures import Counts, add_into
from amnesty_statistics.domain.persons import ProjectedEvent
from amnesty_statistics.service_layer.rebuilding import InMemoryFold

Values = tuple[list[bytes], list[bytes]]
"""A worker's share of a batch: the case events' and the decisions' raw messages, each in topic order."""


@dataclass
class Folded:
    """The fold of every share, as the bulk write takes it."""

    persons: list[tuple[str, str]] = field(default_factory=list)
    """(person, encoded state) rows."""
    figures: Counts = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, share: Folded) -> None:
        self.persons += share.persons
        add_into(self.figures, share.figures)
        for reason, n in share.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + n


def owner(key: bytes | None, workers: int) -> int:
    """The worker that folds the person keyed ``key`` (a pseudonym's UTF-8 bytes)."""
    return hash(key) % workers


class FoldProcesses:
    """``workers`` forked processes folding the shares that ``take`` sends them."""

    def __init__(self, workers: int, decisions_topic: str) -> None:
        self._decisions_topic = decisions_topic
        context = multiprocessing.get_context("fork")
        self._connections: list[Connection] = []
        self._processes: list[BaseProcess] = []
        for index in range(workers):
            here, there = context.Pipe()
            process = context.Process(
                target=_fold, args=(there, index, workers), name=f"rebuild-fold-{index}", daemon=True
            )
            process.start()
            there.close()
            self._connections.append(here)
            self._processes.append(process)

    def __enter__(self) -> FoldProcesses:
        return self

    def __exit__(self, *_: object) -> None:
        for connection in self._connections:
            connection.close()
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()

    async def take(self, batch: Sequence[Delivery]) -> None:
        """Send each worker its share of ``batch``; returns once every worker has received it (a worker
        still folding the previous batch holds this one back: the reading waits for the folding)."""
        shares: list[Values] = [([], []) for _ in self._connections]
        for delivery in batch:
            cases, decisions = shares[owner(delivery.key, len(shares))]
            (decisions if delivery.topic == self._decisions_topic else cases).append(delivery.value)
        await self._ask_all([("take", *share) for share in shares], answer=False)

    async def finish(self) -> Folded:
        """Hand stray messages to their owners, then gather every worker's fold."""
        strays: list[list[Values]] = await self._ask_all([("strays",)] * len(self._connections))
        forwarded = [
            ("take", [v for s in strays for v in s[index][0]], [v for s in strays for v in s[index][1]])
            for index in range(len(self._connections))
        ]
        await self._ask_all(forwarded, answer=False)
        folded = Folded()
        for share in await self._ask_all([("finish",)] * len(self._connections)):
            folded.add(share)
        return folded

    async def _ask_all(self, requests: Sequence[tuple[Any, ...]], *, answer: bool = True) -> list[Any]:
        def ask(connection: Connection, request: tuple[Any, ...]) -> Any:
            connection.send(request)
            return connection.recv() if answer else None

        return await asyncio.gather(
            *(asyncio.to_thread(ask, c, r) for c, r in zip(self._connections, requests, strict=True))
        )


def _fold(connection: Connection, index: int, workers: int) -> None:
    """A worker: fold what it is sent until asked for its result."""
    share = _Share(index, workers)
    while True:
        try:
            request = connection.recv()
        except EOFError:  # the rebuild stopped without asking for the result (it failed): end quietly
            return
        if request[0] == "take":
            _, cases, decisions = request
            share.take(cases, parse_case_events(cases), topic=0)
            share.take(decisions, parse_decision_events(decisions), topic=1)
        elif request[0] == "strays":
            connection.send(share.strays)
            share.strays = share.no_strays()
        else:
            connection.send(share.folded())
            return


class _Share:
    """One worker's persons: their fold, and the messages read that belong to another worker's."""

    def __init__(self, index: int, workers: int) -> None:
        self.index, self.workers = index, workers
        self.fold = InMemoryFold()
        self.strays = self.no_strays()

    def no_strays(self) -> list[Values]:
        return [([], []) for _ in range(self.workers)]

    def take(self, raws: list[bytes], events: Sequence[ProjectedEvent | Rejection], *, topic: int) -> None:
        mine: list[ProjectedEvent | Rejection] = []
        for raw, event in zip(raws, events, strict=True):
            if (
                isinstance(event, Rejection)
                or (home := owner(event.person.encode(), self.workers)) == self.index
            ):
                mine.append(event)
            else:
                self.strays[home][topic].append(raw)
        self.fold.take(mine)

    def folded(self) -> Folded:
        states = self.fold.states.items()
        return Folded(
            [(person, person_states.encode(state)) for person, state in states],
            self.fold.figures(),
            self.fold.skipped,
        )
