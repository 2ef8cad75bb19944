"""For any arrival order of one person's events (resends included), the final decisions are the same:
those the whole history implies, reached through decisions that were never edited, only superseded.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count
from pathlib import Path
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from amnesty_contracts import (
    AmnestyGrantedEvent,
    AmnestyRevokedEvent,
    Article,
    CaseEvent,
    DecisionEvent,
    new_event_id,
)
from amnesty_eligibility.adapters.rule_files import PACKAGED, load_rule_file
from amnesty_eligibility.domain.decisions import Outcome, decide
from amnesty_eligibility.domain.history import ReturnKey, fold
from amnesty_eligibility.domain.person import Person
from amnesty_eligibility.domain.regimes import RuleSet
from tests.unit.eligibility.examples import NOW, PERSON, RULES, detained, opened, reclassified, returned

RULE_SETS = [RULES, *(load_rule_file(Path(str(f))) for f in (PACKAGED / "examples").iterdir())]
DAYS = st.dates(min_value=date(2024, 9, 1), max_value=date(2026, 10, 31))
CASES = ["c0", "c1", "c2"]


def _uuid7(n: int) -> UUID:
    """A valid UUID v7 from a number, so that hypothesis can replay and shrink its examples."""
    return UUID(int=((1_750_000_000_000 + n) << 80) | (0x7 << 76) | (0b10 << 62) | n)


@st.composite
def person_events(draw: st.DrawFn) -> list[CaseEvent]:
    ids = count(1)
    events: list[CaseEvent] = []
    for case in CASES[: draw(st.integers(0, 3))]:
        absent_since = draw(DAYS)
        registered_on = absent_since + timedelta(days=draw(st.integers(0, 40)))
        events.append(opened(case, absent_since, registered_on=registered_on, event_id=_uuid7(next(ids))))
        if draw(st.booleans()) and draw(st.booleans()):  # now and then the same case opened twice
            events.append(opened(case, draw(DAYS), event_id=_uuid7(next(ids))))
    for n in range(draw(st.integers(1, 4))):
        on = draw(DAYS)
        named = draw(st.one_of(st.none(), st.sampled_from([*CASES, "c9"])))
        if draw(st.integers(0, 3)):
            events.append(returned(on, submission=f"r{n}", case=named, event_id=_uuid7(next(ids))))
        else:
            events.append(detained(on, submission=f"r{n}", case=named, event_id=_uuid7(next(ids))))
    for _ in range(draw(st.integers(0, 2))):
        article = draw(st.sampled_from(Article))
        events.append(
            reclassified(draw(st.sampled_from(CASES)), article, draw(DAYS), event_id=_uuid7(next(ids)))
        )
    return events


def _emitted(events: list[CaseEvent], rules: RuleSet) -> tuple[dict[ReturnKey, Outcome], list[DecisionEvent]]:
    person, emitted = Person.replay(PERSON, [], []), []
    for event in events:
        person, decisions = person.handle(event, rules, now=NOW, new_id=new_event_id)
        emitted += decisions
    return {key: e.outcome for key, e in person.ledger.items()}, emitted


def _check_revocations(emitted: list[DecisionEvent]) -> None:
    """Every revocation revokes the grant that stood on its return at the time."""
    standing: dict[ReturnKey, UUID] = {}
    for decision in emitted:
        key = (decision.submission.source, decision.submission.submission_id)
        if isinstance(decision, AmnestyRevokedEvent):
            assert standing.pop(key) == decision.data.revokes
        elif isinstance(decision, AmnestyGrantedEvent):
            standing[key] = decision.event_id
        else:
            assert key not in standing, "a grant is superseded only by a revocation or another grant"


@settings(max_examples=300, deadline=None)
@given(events=person_events(), rules=st.sampled_from(RULE_SETS), data=st.data())
def test_the_final_decisions_do_not_depend_on_the_arrival_order(
    events: list[CaseEvent], rules: RuleSet, data: st.DataObject
) -> None:
    arrival = data.draw(st.permutations(events), label="arrival order")
    resent = data.draw(st.lists(st.sampled_from(events), max_size=3), label="resent")
    implied = {d.ret.key: d.outcome for d in decide(fold(PERSON, events), rules)}

    in_order, emitted_in_order = _emitted(events, rules)
    shuffled, emitted_shuffled = _emitted([*arrival, *resent], rules)

    assert in_order == shuffled == implied
    _check_revocations(emitted_in_order)
    _check_revocations(emitted_shuffled)
