"""decide: the rules of docs/domain.md §3 over one person's history, with the facts that explain them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from amnesty_contracts import Article, CaseEvent, DenialReason
from amnesty_eligibility.domain.decisions import (
    DENIED,
    GRANTED,
    PENDING,
    Denied,
    Granted,
    Outcome,
    decide,
    reinstate_by,
)
from amnesty_eligibility.domain.history import fold
from amnesty_eligibility.domain.regimes import AbsenceDate, Regime, RuleSet
from tests.unit.eligibility.examples import (
    PERSON,
    RULES,
    closed,
    detained,
    opened,
    reclassified,
    returned,
)

KYIV_SUMMER = timezone(timedelta(hours=3))
KYIV_WINTER = timezone(timedelta(hours=2))


def _outcomes(*events: CaseEvent) -> list[Outcome]:
    return [d.outcome for d in decide(fold(PERSON, events), RULES)]


def test_first_voluntary_return_in_a_window_is_granted_with_its_deadline() -> None:
    (decision,) = decide(fold(PERSON, [opened(absent_since="2025-03-01"), returned("2025-06-01")]), RULES)
    assert isinstance(decision.decision, Granted)
    assert decision.decision.regime == "window-2"
    assert decision.decision.reinstate_by == datetime(2025, 6, 4, tzinfo=KYIV_SUMMER)
    assert decision.decision.reinstate_by.isoformat() == "2025-06-04T00:00:00+03:00"


def test_the_deadline_is_72_hours_from_the_start_of_the_return_day_in_kyiv() -> None:
    assert reinstate_by(date(2025, 1, 10), RULES).isoformat() == "2025-01-13T00:00:00+02:00"
    assert reinstate_by(date(2025, 1, 10), RULES) == datetime(2025, 1, 13, tzinfo=KYIV_WINTER)
    # Clocks go forward on 30 March 2025: 72 real hours end at 01:00 local time.
    assert reinstate_by(date(2025, 3, 29), RULES).isoformat() == "2025-04-01T01:00:00+03:00"


def test_first_offence_outside_every_window_is_denied_outside_window() -> None:
    assert _outcomes(opened(absent_since="2025-09-10"), returned("2025-10-01")) == [
        Outcome(DENIED, "outside-window")
    ]


def test_an_earlier_case_makes_a_repeat_offence() -> None:
    events: list[CaseEvent] = [opened("c0", "2024-06-01"), opened("c1", "2025-03-01"), returned("2025-06-01")]
    (decision,) = decide(fold(PERSON, events), RULES)
    assert decision.outcome == Outcome(DENIED, "repeat-offence")
    assert isinstance(decision.decision, Denied)
    assert decision.decision.facts["case"] == "c1"
    assert decision.decision.facts["prior_cases"] == [{"case": "c0", "absent_since": "2024-06-01"}]


def test_a_return_followed_by_a_new_absence_makes_the_next_return_a_repeat_offence() -> None:
    events: list[CaseEvent] = [
        opened("c1", "2024-10-01"),
        returned("2024-12-01", submission="r1"),
        opened("c2", "2025-04-01"),
        returned("2025-06-01", submission="r2"),
    ]
    assert _outcomes(*events) == [Outcome(GRANTED, "window-1"), Outcome(DENIED, "repeat-offence")]


def test_a_second_return_long_after_the_first_is_a_repeat_even_before_its_new_case_arrives() -> None:
    events: list[CaseEvent] = [
        opened("c1", "2024-10-01"),
        returned("2024-12-01", submission="r1"),
        returned("2025-06-01", submission="r2"),
    ]
    (_, second) = decide(fold(PERSON, events), RULES)
    assert second.outcome == Outcome(DENIED, "repeat-offence")
    assert isinstance(second.decision, Denied)
    assert second.decision.facts["earlier_returns"] == ["2024-12-01"]


def test_two_reports_of_one_return_within_three_days_are_decided_alike() -> None:
    events: list[CaseEvent] = [
        opened("c1", "2025-03-01"),
        returned("2025-06-01", submission="army-plus-report"),
        returned("2025-06-04", submission="battalion-report"),
    ]
    assert _outcomes(*events) == [Outcome(GRANTED, "window-2")] * 2


def test_a_detention_is_denied_not_voluntary() -> None:
    assert _outcomes(opened(absent_since="2025-03-01"), detained("2025-06-01")) == [
        Outcome(DENIED, "not-voluntary")
    ]


def test_a_repeat_offence_is_the_reason_before_not_voluntary() -> None:
    events: list[CaseEvent] = [opened("c0", "2024-06-01"), opened("c1", "2025-03-01"), detained("2025-06-01")]
    assert _outcomes(*events) == [Outcome(DENIED, "repeat-offence")]


def test_a_return_before_any_case_of_its_absence_is_pending() -> None:
    assert _outcomes(returned("2025-06-01")) == [Outcome(PENDING, "case-unknown")]
    # a case whose absence began after the return is not the one it ends
    assert _outcomes(opened(absent_since="2025-06-05"), returned("2025-06-01")) == [
        Outcome(PENDING, "case-unknown")
    ]


def test_a_return_naming_an_unknown_case_is_pending_even_if_another_case_fits_its_date() -> None:
    events: list[CaseEvent] = [opened("c1", "2025-03-01"), returned("2025-06-01", case="c2")]
    assert _outcomes(*events) == [Outcome(PENDING, "case-unknown")]


def test_a_return_naming_its_case_is_decided_on_that_case() -> None:
    events: list[CaseEvent] = [
        opened("c1", "2024-10-01"),
        opened("c2", "2024-12-20"),
        returned("2024-12-10", case="c1"),
    ]
    (decision,) = decide(fold(PERSON, events), RULES)
    assert decision.outcome == Outcome(GRANTED, "window-1")
    assert isinstance(decision.decision, Granted)
    assert decision.decision.facts["case"] == "c1"


def test_a_return_without_a_case_number_ends_the_latest_absence_begun_by_then() -> None:
    events: list[CaseEvent] = [opened("c1", "2024-06-01"), opened("c2", "2025-03-01"), returned("2025-06-01")]
    (decision,) = decide(fold(PERSON, events), RULES)
    assert isinstance(decision.decision, Denied)
    assert decision.decision.facts["case"] == "c2"


def test_the_facts_explain_a_grant() -> None:
    events: list[CaseEvent] = [opened("c1", "2025-03-01", registered_on="2025-03-10"), returned("2025-06-01")]
    (decision,) = decide(fold(PERSON, events), RULES)
    assert isinstance(decision.decision, Granted)
    assert decision.decision.facts == {
        "return": "voluntary",
        "channel": "army-plus",
        "case": "c1",
        "article": "407",
        "absent_since": "2025-03-01",
        "registered_on": "2025-03-10",
        "prior_cases": [],
        "earlier_returns": [],
        "window": {
            "absence_by": "2025-05-09",
            "absence_date": "absent_since",
            "returns_from": "2025-05-10",
            "returns_until": "2025-08-30",
        },
    }


def test_a_reclassification_is_in_the_facts_whenever_it_arrived() -> None:
    for order in ([0, 1, 2], [2, 0, 1]):
        events: list[CaseEvent] = [
            opened("c1", "2025-03-01"),
            returned("2025-06-01"),
            reclassified("c1", Article.DESERTION, "2025-04-01"),
        ]
        (decision,) = decide(fold(PERSON, [events[i] for i in order]), RULES)
        assert isinstance(decision.decision, Granted)
        assert decision.decision.facts["article"] == "408"


def test_the_latest_reclassification_by_date_holds() -> None:
    events: list[CaseEvent] = [
        opened("c1", "2025-03-01"),
        reclassified("c1", Article.UNAUTHORIZED_ABSENCE, "2025-05-01"),
        reclassified("c1", Article.DESERTION, "2025-04-01"),
        returned("2025-06-01"),
    ]
    (decision,) = decide(fold(PERSON, events), RULES)
    assert isinstance(decision.decision, Granted)
    assert decision.decision.facts["article"] == "407"


def test_a_closed_case_changes_no_decision() -> None:
    base: list[CaseEvent] = [opened("c1", "2025-03-01"), returned("2025-06-01")]
    assert _outcomes(*base, closed("c1", "2025-07-01")) == _outcomes(*base)


def test_a_detention_explains_itself_without_a_channel() -> None:
    (decision,) = decide(fold(PERSON, [opened(absent_since="2025-03-01"), detained("2025-06-01")]), RULES)
    assert isinstance(decision.decision, Denied)
    assert decision.decision.reason is DenialReason.NOT_VOLUNTARY
    assert decision.decision.facts["return"] == "detained"
    assert "channel" not in decision.decision.facts


def test_a_regime_may_test_the_registration_date_instead() -> None:
    regime = Regime(
        "by-registration", date(2025, 5, 9), date(2025, 5, 10), date(2025, 8, 30), AbsenceDate.REGISTERED_ON
    )
    rules = RuleSet("test", (regime,))
    late_registration = fold(
        PERSON, [opened(absent_since="2025-05-01", registered_on="2025-05-12"), returned("2025-06-01")]
    )
    early_registration = fold(
        PERSON, [opened(absent_since="2025-05-01", registered_on="2025-05-09"), returned("2025-06-01")]
    )
    assert [d.outcome for d in decide(late_registration, rules)] == [Outcome(DENIED, "outside-window")]
    assert [d.outcome for d in decide(early_registration, rules)] == [Outcome(GRANTED, "by-registration")]


def test_the_first_regime_in_file_order_wins_when_windows_overlap() -> None:
    wide = Regime("wide", date(2025, 12, 31), date(2025, 1, 1), date(2025, 12, 31))
    narrow = Regime("narrow", date(2025, 12, 31), date(2025, 6, 1), date(2025, 6, 30))
    history = fold(PERSON, [opened(absent_since="2025-03-01"), returned("2025-06-10")])
    assert decide(history, RuleSet("a", (narrow, wide)))[0].outcome == Outcome(GRANTED, "narrow")
    assert decide(history, RuleSet("b", (wide, narrow)))[0].outcome == Outcome(GRANTED, "wide")


def test_returns_are_decided_in_date_order() -> None:
    events: list[CaseEvent] = [
        opened("c1", "2024-10-01"),
        returned("2025-06-01", submission="b"),
        returned("2024-12-01", submission="a"),
    ]
    assert [d.ret.submission.submission_id for d in decide(fold(PERSON, events), RULES)] == ["a", "b"]
