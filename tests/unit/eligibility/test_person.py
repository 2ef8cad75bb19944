"""Person.handle: each case event answers only the decisions that change, never editing one."""

from __future__ import annotations

from collections.abc import Sequence

from amnesty_contracts import (
    AmnestyDeniedEvent,
    AmnestyGrantedEvent,
    AmnestyRevokedEvent,
    Article,
    CaseEvent,
    DecisionEvent,
    DenialReason,
    EligibilityPendingEvent,
    new_event_id,
)
from amnesty_eligibility.domain.person import Person
from amnesty_eligibility.domain.regimes import RuleSet
from tests.unit.eligibility.examples import NOW, PERSON, RULES, detained, opened, reclassified, returned


def _run(events: Sequence[CaseEvent], rules: RuleSet = RULES) -> tuple[Person, list[list[DecisionEvent]]]:
    person = Person.replay(PERSON, [], [])
    answers = []
    for event in events:
        person, decisions = person.handle(event, rules, now=NOW, new_id=new_event_id)
        answers.append(decisions)
    return person, answers


def test_a_return_before_its_case_is_pending_then_decided_when_the_case_arrives() -> None:
    ret, case = returned("2025-06-01"), opened(absent_since="2025-03-01")
    _, (first, second) = _run([ret, case])
    (pending,) = first
    (granted,) = second
    assert isinstance(pending, EligibilityPendingEvent)
    assert str(pending.data.returned_on) == "2025-06-01"
    assert isinstance(granted, AmnestyGrantedEvent)
    assert granted.data.regime == "window-2"
    assert granted.data.rule_set == RULES.version
    for decision in (pending, granted):
        assert decision.submission == ret.submission
        assert decision.person == PERSON
        assert decision.correlation_id == ret.correlation_id
        assert str(decision.occurred_on) == "2025-06-01"
        assert decision.recorded_at == NOW
    assert pending.causation_id == ret.event_id
    assert granted.causation_id == case.event_id


def test_an_earlier_case_arriving_after_a_grant_revokes_it() -> None:
    _, (_, (grant,), (revocation,)) = _run(
        [opened("c1", "2025-03-01"), returned("2025-06-01"), opened("c0", "2024-06-01")]
    )
    assert isinstance(grant, AmnestyGrantedEvent)
    assert isinstance(revocation, AmnestyRevokedEvent)
    assert revocation.data.revokes == grant.event_id
    assert revocation.data.reason is DenialReason.REPEAT_OFFENCE
    assert revocation.data.facts["prior_cases"] == [{"case": "c0", "absent_since": "2024-06-01"}]
    assert revocation.submission == grant.submission


def test_a_denial_whose_reason_changes_is_followed_by_a_new_denial() -> None:
    _, (_, (outside,), (repeat,)) = _run(
        [opened("c1", "2025-09-10"), returned("2025-10-01"), opened("c0", "2024-06-01")]
    )
    assert isinstance(outside, AmnestyDeniedEvent)
    assert outside.data.reason is DenialReason.OUTSIDE_WINDOW
    assert isinstance(repeat, AmnestyDeniedEvent)
    assert repeat.data.reason is DenialReason.REPEAT_OFFENCE


def test_a_case_event_that_changes_no_decision_answers_nothing() -> None:
    _, answers = _run(
        [
            opened("c1", "2025-03-01"),
            returned("2025-06-01"),
            reclassified("c1", Article.DESERTION, "2025-06-10"),
            opened("c2", "2025-09-01"),  # a later absence, no return yet
        ]
    )
    assert [len(a) for a in answers] == [0, 1, 0, 0]


def test_the_same_event_twice_is_taken_once() -> None:
    ret = returned("2025-06-01")
    _, answers = _run([opened(absent_since="2025-03-01"), ret, ret])
    assert [len(a) for a in answers] == [0, 1, 0]


def test_a_detention_is_decided_and_names_the_detention() -> None:
    detention = detained("2025-06-01")
    _, (_, (denial,)) = _run([opened(absent_since="2025-03-01"), detention])
    assert isinstance(denial, AmnestyDeniedEvent)
    assert denial.data.reason is DenialReason.NOT_VOLUNTARY
    assert denial.submission == detention.submission


def test_a_new_return_decides_only_itself() -> None:
    _, answers = _run(
        [
            opened("c1", "2024-10-01"),
            returned("2024-12-01", submission="r1"),
            opened("c2", "2025-04-01"),
            returned("2025-06-01", submission="r2"),
        ]
    )
    assert [[d.submission.submission_id for d in a] for a in answers] == [[], ["r1"], [], ["r2"]]


def test_a_person_replayed_from_their_stream_goes_on_as_before() -> None:
    events: list[CaseEvent] = [returned("2025-06-01"), opened("c1", "2025-03-01")]
    person, answers = _run(events)
    replayed = Person.replay(PERSON, events, [d for a in answers for d in a])
    assert replayed == person
    _, (revocation,) = replayed.handle(opened("c0", "2024-06-01"), RULES, now=NOW, new_id=new_event_id)
    assert isinstance(revocation, AmnestyRevokedEvent)
    assert revocation.data.revokes == answers[1][0].event_id
