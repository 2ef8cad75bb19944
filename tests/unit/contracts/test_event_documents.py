"""A batch's events dumped in one serializer call read exactly as each event's own dump."""

from amnesty_contracts import (
    Rejection,
    case_event_documents,
    decision_event_documents,
    parse_case_events,
    parse_decision_events,
)
from tests.support.domain_events import encoded
from tests.support.event_stream import history


def test_a_batch_dump_is_each_events_own_json_dump() -> None:
    raws = [encoded(e) for e in history(3, 60)]
    cases = [e for e in parse_case_events(raws) if not isinstance(e, Rejection)]
    decisions = [e for e in parse_decision_events(raws) if not isinstance(e, Rejection)]
    assert {e.type for e in cases} >= {"CaseOpened", "VoluntaryReturn"}
    assert {e.type for e in decisions} >= {"AmnestyGranted", "AmnestyDenied"}

    assert case_event_documents(cases) == [e.model_dump(mode="json") for e in cases]
    assert decision_event_documents(decisions) == [e.model_dump(mode="json") for e in decisions]
