"""The consumers' side of the pacts: each message a pact expects, handled by the consumer's real code.

A handler raises when its consumer could not use the message: its parser refuses it, or its domain
cannot take it in. Eligibility decides on a case event; statistics projects a case event or a decision;
intake admits a submission (an in-memory store stands in for PostgreSQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from amnesty_contracts import Rejection, new_event_id, parse_case_events, parse_decision_events
from amnesty_eligibility.domain.person import Person
from amnesty_intake.domain.admission import Verdict
from amnesty_intake.service_layer.admission import Incoming
from amnesty_statistics.domain.persons import EMPTY
from amnesty_statistics.domain.projection import project
from tests.unit.eligibility.examples import RULES
from tests.unit.intake.fake_store import FakeIntakeStore, admission

Handler = Callable[[str | bytes | None, dict[str, object]], None]
NOW: Final = datetime(2025, 11, 3, 10, tzinfo=UTC)


def _raw(body: str | bytes | None) -> bytes:
    assert body is not None, "the message has no body"
    return body.encode() if isinstance(body, str) else body


def eligibility_decides_on_a_case_event(body: str | bytes | None, _metadata: dict[str, object]) -> None:
    (event,) = parse_case_events([_raw(body)])
    assert not isinstance(event, Rejection), event
    Person.replay(event.person, [], []).handle(event, RULES, now=NOW, new_id=new_event_id)


def statistics_projects_a_case_event(body: str | bytes | None, _metadata: dict[str, object]) -> None:
    (event,) = parse_case_events([_raw(body)])
    assert not isinstance(event, Rejection), event
    after, _ = project(EMPTY, [event])
    assert after != EMPTY, f"the {event.type} changed nothing"


def statistics_projects_a_decision(body: str | bytes | None, _metadata: dict[str, object]) -> None:
    (event,) = parse_decision_events([_raw(body)])
    assert not isinstance(event, Rejection), event
    after, _ = project(EMPTY, [event])
    assert after != EMPTY, f"the {event.type} changed nothing"


def intake_accepts_a_submission(body: str | bytes | None, _metadata: dict[str, object]) -> None:
    store = FakeIntakeStore()
    # The pact verifier calls handlers synchronously, outside any event loop.
    (outcome,) = asyncio.run(admission(store).admit(store, [Incoming(_raw(body))]))
    assert outcome.verdict is Verdict.ACCEPTED, outcome
    assert len(store.events) == 1


def consumer_of(consumer: str, provider: str) -> Handler:
    """The handler of `consumer` for what `provider` publishes."""
    if consumer == "intake":
        return intake_accepts_a_submission
    if consumer == "eligibility":
        return eligibility_decides_on_a_case_event
    return statistics_projects_a_decision if provider == "eligibility" else statistics_projects_a_case_event
