"""The decisions already emitted for a person, and the new ones a changed history calls for.

Decisions are never edited. When the history changes, the decisions it implies are compared with the
ledger and only the differences are emitted, each superseding the previous decision on its return:
a first decision, pending -> decided, granted -> revoked (with the denial's reason), or another
regime or reason. A decided return never goes back to pending: facts only accumulate, so once a
return has its case it keeps one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from uuid import UUID

from amnesty_contracts import (
    AmnestyDeniedEvent,
    AmnestyGrantedEvent,
    AmnestyRevokedEvent,
    DecisionEvent,
    EligibilityPendingEvent,
)
from amnesty_eligibility.domain.decisions import (
    DENIED,
    GRANTED,
    PENDING,
    Denied,
    Outcome,
    Pending,
    ReturnDecision,
)
from amnesty_eligibility.domain.history import ReturnKey


@dataclass(frozen=True, slots=True)
class Emitted:
    """The latest decision on a return: its outcome, and the grant's event id while a grant stands."""

    outcome: Outcome
    grant_id: UUID | None = None


Ledger = Mapping[ReturnKey, Emitted]
"""The latest decision emitted per return."""


@dataclass(frozen=True, slots=True)
class Change:
    """A decision to emit; `revokes` is the grant it revokes when a granted return is now denied."""

    decision: ReturnDecision
    revokes: UUID | None = None


def record(ledger: Ledger, event: DecisionEvent) -> Ledger:
    """The ledger after `event` was emitted."""
    key = (event.submission.source, event.submission.submission_id)
    match event:
        case AmnestyGrantedEvent():
            emitted = Emitted(Outcome(GRANTED, event.data.regime), event.event_id)
        case AmnestyDeniedEvent() | AmnestyRevokedEvent():
            emitted = Emitted(Outcome(DENIED, event.data.reason.value))
        case EligibilityPendingEvent():
            emitted = Emitted(Outcome(PENDING, event.data.reason.value))
    return MappingProxyType({**ledger, key: emitted})


def record_all(ledger: Ledger, events: Sequence[DecisionEvent]) -> Ledger:
    for event in events:
        ledger = record(ledger, event)
    return ledger


def reconcile(ledger: Ledger, decisions: Sequence[ReturnDecision]) -> list[Change]:
    """The decisions to emit so that the ledger says what `decisions` say."""
    changes: list[Change] = []
    for decision in decisions:
        emitted = ledger.get(decision.ret.key)
        if emitted is None:
            changes.append(Change(decision))
        elif emitted.outcome == decision.outcome or isinstance(decision.decision, Pending):
            continue
        elif emitted.grant_id is not None and isinstance(decision.decision, Denied):
            changes.append(Change(decision, revokes=emitted.grant_id))
        else:
            changes.append(Change(decision))
    return changes
