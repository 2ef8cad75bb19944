"""The persons of recent batches, as their streams stood after the last batch that committed.

A person found here costs no read of their stream and no replay of it. It stays exact because only
committed states enter (``remember`` runs after the batch's commit), every append still names the stream
version it expects (an entry that fell behind — another member wrote the stream — is refused by the
store, dropped here, and the batch comes again), and the whole cache is forgotten when partitions move.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from amnesty_eligibility.domain.person import Person

Known = tuple[int, Person]
"""A person's stream version and the person as that version left them."""


@dataclass
class PersonCache:
    """The most recently used ``capacity`` persons by stream id (0: none kept)."""

    capacity: int
    _known: OrderedDict[str, Known] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._known)

    def find(self, stream_ids: Iterable[str]) -> dict[str, Known]:
        found = {}
        for stream_id in stream_ids:
            if (known := self._known.get(stream_id)) is not None:
                self._known.move_to_end(stream_id)
                found[stream_id] = known
        return found

    def remember(self, committed: Mapping[str, Known]) -> None:
        for stream_id, known in committed.items():
            self._known[stream_id] = known
            self._known.move_to_end(stream_id)
        while len(self._known) > self.capacity:
            self._known.popitem(last=False)

    def drop(self, stream_ids: Iterable[str]) -> None:
        for stream_id in stream_ids:
            self._known.pop(stream_id, None)

    def forget(self) -> None:
        self._known.clear()
