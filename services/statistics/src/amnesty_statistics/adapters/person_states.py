"""A person's projection state as the JSON document stored in `persons_vN.state`.

Encoded and decoded for every person of every batch, so dates and UUIDs go to orjson as they are: it
writes them as ``isoformat()`` and ``str()`` would, in C.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import orjson

from amnesty_statistics.domain.persons import (
    Case,
    Decision,
    DecisionKind,
    Ending,
    EndingKind,
    PersonState,
    Reclassification,
    ReturnDecisions,
)


def encode(state: PersonState) -> str:
    document = {
        "cases": [
            {
                "number": c.number,
                "article": c.article,
                "region": c.region,
                "absent_since": c.absent_since,
                "registered_on": c.registered_on,
                "opened_by": c.opened_by,
            }
            for c in state.cases.values()
        ],
        "reclassifications": [
            {"case": r.case_number, "article": r.article, "on": r.on, "event_id": r.event_id}
            for r in state.reclassifications.values()
        ],
        "endings": [
            {
                "source": source,
                "submission_id": submission_id,
                "kind": e.kind.value,
                "on": e.on,
                "case": e.case_number,
                "region": e.region,
                "event_id": e.event_id,
            }
            for (source, submission_id), e in state.endings.items()
        ],
        "decisions": [
            {
                "source": source,
                "submission_id": submission_id,
                **_decision(d.current),
                # A UUID orders as its text does (fixed-width lower-case hex).
                "seen": sorted(d.seen),
            }
            for (source, submission_id), d in state.decisions.items()
        ],
    }
    return orjson.dumps(document).decode()


def decode(text: str) -> PersonState:
    document: dict[str, Any] = orjson.loads(text)
    return PersonState(
        cases={
            c["number"]: Case(
                c["number"],
                c["article"],
                c["region"],
                date.fromisoformat(c["absent_since"]),
                date.fromisoformat(c["registered_on"]),
                UUID(c["opened_by"]),
            )
            for c in document.get("cases", ())
        },
        reclassifications={
            UUID(r["event_id"]): Reclassification(
                r["case"], r["article"], date.fromisoformat(r["on"]), UUID(r["event_id"])
            )
            for r in document.get("reclassifications", ())
        },
        endings={
            (e["source"], e["submission_id"]): Ending(
                EndingKind(e["kind"]),
                date.fromisoformat(e["on"]),
                e["case"],
                e["region"],
                UUID(e["event_id"]),
            )
            for e in document.get("endings", ())
        },
        decisions={
            (d["source"], d["submission_id"]): ReturnDecisions(
                Decision(
                    DecisionKind(d["kind"]),
                    date.fromisoformat(d["on"]),
                    d["regime"],
                    d["reason"],
                    UUID(d["event_id"]),
                ),
                frozenset(UUID(s) for s in d["seen"]),
            )
            for d in document.get("decisions", ())
        },
    )


def _decision(decision: Decision) -> dict[str, object]:
    return {
        "kind": decision.kind.value,
        "on": decision.on,
        "regime": decision.regime,
        "reason": decision.reason,
        "event_id": decision.event_id,
    }
