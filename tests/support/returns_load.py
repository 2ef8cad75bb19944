"""A load of submissions for the whole pipeline, and what must hold once it has gone through, by id.

Each person of the load has a case and then a return (a voluntary return, or for every fifth a
detention), keyed by the person on the upstream topic so intake sees them in that order. So every return
has exactly one decision — granted under the case's window, or denied as not voluntary — and the
statistics summary follows from the counts alone.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from amnesty_runtime.kafka_client import KafkaClientOptions

Key = tuple[str, str]
"""A submission's idempotency key: (source, submission_id)."""

_WINDOWS = (
    # (absent_since, registered_on, returned_on, regime)
    ("2024-11-02", "2024-11-20", "2025-01-15", "window-1"),
    ("2025-04-01", "2025-04-10", "2025-06-01", "window-2"),
)
_REGIONS = ("UA-48", "UA-30", "UA-46", "UA-12")


@dataclass
class ReturnsLoad:
    """Every submission sent so far, and the decision each return must come to."""

    persons: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    decision_of: dict[Key, str] = field(default_factory=dict)
    """Each return's expected decision: ``AmnestyGranted:<regime>`` or ``AmnestyDenied:not-voluntary``."""

    def next_batch(self, persons: int) -> list[dict[str, Any]]:
        """Submissions for ``persons`` new persons (two each), remembered with what they must lead to."""
        batch = []
        for i in range(self.persons, self.persons + persons):
            absent_since, registered_on, returned_on, regime = _WINDOWS[i % 2]
            person = f"8{i:09d}"
            batch.append(
                {
                    "type": "CaseOpened",
                    "source": "erdr",
                    "submission_id": f"open-{i}",
                    "person_id": person,
                    "case_number": f"{12025000000000000 + i}",
                    "article": "407",
                    "absent_since": absent_since,
                    "registered_on": registered_on,
                    "region": _REGIONS[i % len(_REGIONS)],
                }
            )
            ret: dict[str, Any] = {"source": "army-plus", "submission_id": f"return-{i}", "person_id": person}
            if i % 5 == 0:
                ret |= {"type": "Detained", "detained_on": returned_on}
                self.decision_of[("army-plus", ret["submission_id"])] = "AmnestyDenied:not-voluntary"
            else:
                ret |= {"type": "VoluntaryReturn", "returned_on": returned_on, "channel": "army-plus"}
                self.decision_of[("army-plus", ret["submission_id"])] = f"AmnestyGranted:{regime}"
            batch.append(ret)
        self.persons += persons
        self.sent += batch
        return batch

    @property
    def keys(self) -> set[Key]:
        return {(s["source"], s["submission_id"]) for s in self.sent}

    def expected_summary(self) -> dict[str, Any]:
        """The all-time summary of GET /v1/stats/summary once everything sent has gone through."""
        decisions = Counter(self.decision_of.values())
        granted = {k.split(":")[1]: n for k, n in decisions.items() if k.startswith("AmnestyGranted")}
        detained = decisions["AmnestyDenied:not-voluntary"]
        returns = self.persons - detained
        return {
            "from": None,
            "to": None,
            "region": None,
            "article": None,
            "cases_opened": self.persons,
            "voluntary_returns": returns,
            "detained": detained,
            "amnesties_granted": sum(granted.values()),
            "amnesties_granted_by_regime": granted,
            "amnesties_denied": detained,
            "amnesties_denied_by_reason": {"not-voluntary": detained} if detained else {},
            "pending": 0,
            "revoked": 0,
            "open_cases": 0,
            "return_rate": returns / self.persons if self.persons else 0.0,
        }


async def publish(kafka: KafkaClientOptions, topic: str, submissions: list[dict[str, Any]]) -> None:
    """As an upstream system sends: JSON, keyed by the person (so a person's submissions stay in order),
    by an idempotent producer that waits for every acknowledgement."""
    producer = AIOKafkaProducer(**kafka.aiokafka(), enable_idempotence=True, acks="all", linger_ms=20)
    await producer.start()
    try:
        sends = [
            await producer.send(topic, json.dumps(s).encode(), key=s["person_id"].encode())
            for s in submissions
        ]
        for sent in sends:
            await sent
    finally:
        await producer.stop()


@dataclass(frozen=True)
class Tally:
    """How what came out compares with what went in, by key: none missing, none twice, none unknown."""

    lost: set[Key]
    duplicated: dict[Key, int]
    unexpected: set[Key]

    @classmethod
    def of(cls, expected: set[Key], seen: Counter[Key]) -> Tally:
        return cls(
            lost=expected - set(seen),
            duplicated={k: n for k, n in seen.items() if n > 1},
            unexpected=set(seen) - expected,
        )

    @property
    def exact(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected)

    def __str__(self) -> str:
        return (
            f"lost {len(self.lost)} (e.g. {sorted(self.lost)[:3]}), duplicated {len(self.duplicated)} "
            f"(e.g. {sorted(self.duplicated.items())[:3]}), unexpected {len(self.unexpected)}"
        )
