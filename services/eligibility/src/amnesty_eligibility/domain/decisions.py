"""The rules of docs/domain.md §3: what each return of a person earns, given their whole history.

`decide` is a pure function of the history and a rule set. For each return (voluntary or detention):

1. no known case it belongs to: pending (case-unknown);
2. an earlier offence (an earlier case, or an earlier return followed by a new absence): repeat-offence;
3. a detention: not-voluntary;
4. the first regime whose window admits the absence and the return: granted;
5. otherwise: outside-window.

A return names its case by number when upstream knew it; otherwise it belongs to the latest case whose
absence began on or before the return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from pydantic import JsonValue

from amnesty_contracts import DenialReason, PendingReason
from amnesty_eligibility.domain.history import Case, PersonHistory, Return
from amnesty_eligibility.domain.regimes import Regime, RuleSet

Facts = dict[str, JsonValue]

# A return is known by its date only. The deadline runs from the start of that day in Ukraine, the
# earliest moment the return can have happened, so it is never later than the law allows; it is 72 real
# hours, so across a clock change it ends at 23:00 or 01:00 local time.
KYIV: Final = ZoneInfo("Europe/Kyiv")

GRANTED: Final = "AmnestyGranted"
DENIED: Final = "AmnestyDenied"
PENDING: Final = "EligibilityPending"


@dataclass(frozen=True, slots=True)
class Granted:
    regime: str
    reinstate_by: datetime
    facts: Facts


@dataclass(frozen=True, slots=True)
class Denied:
    reason: DenialReason
    facts: Facts


@dataclass(frozen=True, slots=True)
class Pending:
    reason: PendingReason = PendingReason.CASE_UNKNOWN


Decision = Granted | Denied | Pending


@dataclass(frozen=True, slots=True, order=True)
class Outcome:
    """What a decision comes to, without its explanation: the decision type and its regime or reason."""

    type: str
    code: str


@dataclass(frozen=True, slots=True)
class ReturnDecision:
    """The decision the history implies for one of its returns."""

    ret: Return
    decision: Decision

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.decision)


def outcome_of(decision: Decision) -> Outcome:
    match decision:
        case Granted():
            return Outcome(GRANTED, decision.regime)
        case Denied():
            return Outcome(DENIED, decision.reason.value)
        case Pending():
            return Outcome(PENDING, decision.reason.value)


def reinstate_by(returned_on: date, rules: RuleSet) -> datetime:
    """The reinstatement deadline: the rule set's hours (72) after the start of the return day in Kyiv."""
    start = datetime.combine(returned_on, time(), tzinfo=KYIV)
    return (start.astimezone(UTC) + timedelta(hours=rules.reinstate_within_hours)).astimezone(KYIV)


def decide(history: PersonHistory, rules: RuleSet) -> list[ReturnDecision]:
    """The decision for every return of the history, in return order (date, then submission)."""
    returns = sorted(history.returns.values(), key=lambda r: (r.returned_on, r.key))
    return [ReturnDecision(r, _decide_return(history, r, rules)) for r in returns]


def _decide_return(history: PersonHistory, ret: Return, rules: RuleSet) -> Decision:
    case = case_of(history, ret)
    if case is None:
        return Pending()
    prior_cases = sorted(
        (c for c in history.cases.values() if c.absent_since < case.absent_since),
        key=lambda c: (c.absent_since, c.number),
    )
    earlier_returns = _earlier_returns(history, ret, case, rules)
    facts = _facts(history, ret, case, prior_cases, earlier_returns)
    if prior_cases or earlier_returns:
        return Denied(DenialReason.REPEAT_OFFENCE, facts)
    if not ret.voluntary:
        return Denied(DenialReason.NOT_VOLUNTARY, facts)
    regime = rules.regime_for(
        absent_since=case.absent_since, registered_on=case.registered_on, returned_on=ret.returned_on
    )
    if regime is None:
        return Denied(DenialReason.OUTSIDE_WINDOW, facts)
    return Granted(regime.id, reinstate_by(ret.returned_on, rules), {**facts, "window": _window(regime)})


def case_of(history: PersonHistory, ret: Return) -> Case | None:
    """The case a return ends: the one it names, else the latest absence begun by the return date."""
    if ret.case_number is not None:
        return history.cases.get(ret.case_number)
    begun = [c for c in history.cases.values() if c.absent_since <= ret.returned_on]
    # Two cases for one absence (same date) are one offence; the smaller number makes the choice stable.
    return min(begun, key=lambda c: (-c.absent_since.toordinal(), c.number), default=None)


def _earlier_returns(history: PersonHistory, ret: Return, case: Case, rules: RuleSet) -> list[Return]:
    """Returns that show an earlier absence: before this case's absence began, or too long before this
    return to be another report of it (a second absence that short would be disciplinary, not an offence).
    """
    same_return_since = ret.returned_on - timedelta(days=rules.same_return_within_days)
    return sorted(
        (
            other
            for other in history.returns.values()
            if other.key != ret.key
            and (other.returned_on < case.absent_since or other.returned_on < same_return_since)
        ),
        key=lambda r: (r.returned_on, r.key),
    )


def _facts(
    history: PersonHistory, ret: Return, case: Case, prior_cases: list[Case], earlier_returns: list[Return]
) -> Facts:
    facts: Facts = {
        "return": "voluntary" if ret.voluntary else "detained",
        "case": case.number,
        "article": history.article_of(case).value,
        "absent_since": case.absent_since.isoformat(),
        "registered_on": case.registered_on.isoformat(),
        "prior_cases": [{"case": c.number, "absent_since": c.absent_since.isoformat()} for c in prior_cases],
        "earlier_returns": [r.returned_on.isoformat() for r in earlier_returns],
    }
    if ret.channel is not None:
        facts["channel"] = ret.channel.value
    return facts


def _window(regime: Regime) -> Facts:
    return {
        "absence_by": regime.absence_by.isoformat(),
        "absence_date": regime.absence_date.value,
        "returns_from": regime.returns_from.isoformat(),
        "returns_until": regime.returns_until.isoformat(),
    }
