"""How far behind its topics the read model may be, from the topics' end offsets and its checkpoints.

Every measurement records the topics' end offsets at that moment (a high-water mark). The lag is the time
since the latest mark the projection's checkpoints have all reached: every event that was on the topics
then is in the read model. Caught up at the latest measurement, the lag is 0; stuck, it grows. It is
measured from the checkpoints in the database, so every replica of the service reports the same lag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

TopicPartition = tuple[str, int]

MAX_MARKS: Final = 1024
"""Marks kept while behind; beyond that every other one is dropped, which can only overstate the lag."""


@dataclass
class LagTracker:
    marks: list[tuple[float, dict[TopicPartition, int]]] = field(default_factory=list)

    def observe(
        self, now: float, ends: Mapping[TopicPartition, int], applied: Mapping[TopicPartition, int]
    ) -> float:
        """Record the end offsets measured at ``now``; the lag given what has been ``applied``."""
        self.marks.append((now, dict(ends)))
        # End offsets only grow, so the newest mark reached is the one to keep; older ones are spent.
        for i in range(len(self.marks) - 1, -1, -1):
            if all(applied.get(tp, 0) >= offset for tp, offset in self.marks[i][1].items()):
                del self.marks[:i]
                return now - self.marks[0][0]
        if len(self.marks) > MAX_MARKS:
            self.marks[:] = self.marks[::2]
        return now - self.marks[0][0]
