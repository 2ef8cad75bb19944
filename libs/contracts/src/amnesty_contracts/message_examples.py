"""Example messages of every type, published in the AsyncAPI document for the teams that build on it.

Each example is built by the contract's own models (submissions validated, events constructed, rejected
messages made by `rejected_message`), so an example the models would refuse cannot be published. The
identifiers are made up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from uuid import UUID

from pydantic import JsonValue

from amnesty_contracts.case_events import case_event_from_submission
from amnesty_contracts.decision_events import (
    AmnestyDeniedData,
    AmnestyDeniedEvent,
    AmnestyGrantedData,
    AmnestyGrantedEvent,
    AmnestyRevokedData,
    AmnestyRevokedEvent,
    DecisionEvent,
    DenialReason,
    EligibilityPendingData,
    EligibilityPendingEvent,
    PendingReason,
)
from amnesty_contracts.events import SubmissionRef
from amnesty_contracts.parsing import validate_submission
from amnesty_contracts.rejected import rejected_message
from amnesty_contracts.rejections import Rejection, RejectionReason
from amnesty_contracts.submissions import Submission
from amnesty_contracts.topics import UPSTREAM

# Fixed dates and ids: the examples are part of a committed document that must regenerate identically.
_RECORDED_AT: Final = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
# Shaped like intake's pseudonyms (HMAC-SHA256, URL-safe base64), under a key that is not the real one.
_PERSON: Final = "PpQq7Hea8R1RW5xHSuf3XdSXodqNeXmnIyp8Ee-ECcs"
_PERSONS: Final = {"3012345678": _PERSON, "SN-0417-2231": "VZZ9M3fJ-jatRYBUfkvQY31vhKF3WEOG2MAJgu6DCYs"}
_CASE_PSEUDONYMS: Final = {
    "12025100000004217": "9fcgdq4rHz9PusgNR8j6rGZQfmqq91_FrkaVuqUWjFQ",
    "42024000000001337": "K8AFXs2aVuq0vC1onb6S2b3Tdt1bS1nXL4I9Oy9awQY",
}
_RULE_SET: Final = "2026-06-12"


@dataclass(frozen=True, slots=True)
class MessageExample:
    """One example message: a short name, what it shows, and its JSON payload."""

    name: str
    summary: str
    payload: dict[str, JsonValue]


_SUBMISSIONS: Final[dict[str, list[tuple[str, str, dict[str, Any]]]]] = {
    "CaseOpened": [
        (
            "erdr-required-fields",
            "A case registered in the ERDR, with only the required fields",
            {
                "source": "erdr",
                "submission_id": "erdr-2025-000417",
                "person_id": "3012345678",
                "case_number": "12025100000004217",
                "article": "407",
                "absent_since": "2025-01-10",
                "registered_on": "2025-01-20",
                "region": "UA-48",
            },
        ),
        (
            "erdr-every-field",
            "A desertion case with its part of the article, unit and branch",
            {
                "source": "erdr",
                "submission_id": "erdr-2024-001337",
                "person_id": "SN-0417-2231",
                "case_number": "42024000000001337",
                "article": "408",
                "article_part": 1,
                "absent_since": "2024-08-03",
                "registered_on": "2024-08-19",
                "region": "UA-30",
                "unit": "military unit A0000",
                "branch": "ZSU",
            },
        ),
    ],
    "VoluntaryReturn": [
        (
            "army-plus",
            "A return announced in the Army+ app, naming no case",
            {
                "source": "army-plus",
                "submission_id": "ap-7f3c21",
                "person_id": "3012345678",
                "returned_on": "2025-05-20",
                "channel": "army-plus",
            },
        ),
        (
            "reserve-battalion",
            "A return to a reserve battalion, naming its case, region and unit",
            {
                "source": "reserve-battalion-12",
                "submission_id": "rb12-0091",
                "person_id": "SN-0417-2231",
                "returned_on": "2025-05-02",
                "channel": "reserve-battalion",
                "case_number": "42024000000001337",
                "region": "UA-30",
                "unit": "reserve battalion 12",
            },
        ),
    ],
    "Detained": [
        (
            "military-police",
            "A detention by the military police, with no case named",
            {
                "source": "military-police",
                "submission_id": "mp-2025-55210",
                "person_id": "3012345678",
                "detained_on": "2025-05-21",
            },
        ),
        (
            "military-police-with-case",
            "A detention naming the case and the region",
            {
                "source": "military-police",
                "submission_id": "mp-2025-55211",
                "person_id": "SN-0417-2231",
                "detained_on": "2025-04-28",
                "case_number": "42024000000001337",
                "region": "UA-43",
            },
        ),
    ],
    "CaseReclassified": [
        (
            "to-desertion",
            "An unauthorized absence requalified as desertion",
            {
                "source": "erdr",
                "submission_id": "erdr-2025-000417-r1",
                "person_id": "3012345678",
                "case_number": "12025100000004217",
                "article": "408",
                "reclassified_on": "2025-03-01",
            },
        ),
        (
            "to-absence",
            "A desertion requalified as unauthorized absence",
            {
                "source": "erdr",
                "submission_id": "erdr-2024-001337-r1",
                "person_id": "SN-0417-2231",
                "case_number": "42024000000001337",
                "article": "407",
                "reclassified_on": "2024-10-15",
            },
        ),
    ],
    "CaseClosed": [
        (
            "released",
            "A case closed with release from liability",
            {
                "source": "courts",
                "submission_id": "court-2025-3391",
                "person_id": "3012345678",
                "case_number": "12025100000004217",
                "closed_on": "2025-04-01",
                "outcome": "released",
            },
        ),
        (
            "convicted",
            "A case closed by a conviction",
            {
                "source": "courts",
                "submission_id": "court-2025-0212",
                "person_id": "SN-0417-2231",
                "case_number": "42024000000001337",
                "closed_on": "2025-02-11",
                "outcome": "convicted",
            },
        ),
    ],
}


def _submission(type_name: str, fields: Mapping[str, Any]) -> Submission:
    # Validated as intake would on the day the examples were recorded, so no date is "in the future".
    submission = validate_submission({"type": type_name, **fields}, today=_RECORDED_AT.date())
    if isinstance(submission, Rejection):
        raise ValueError(f"example {type_name} {fields['submission_id']} is refused: {submission.detail}")
    return submission


def submission_examples() -> dict[str, list[MessageExample]]:
    """Two submissions of every type, as upstream systems send them (raw identifiers included)."""
    return {
        type_name: [
            MessageExample(
                name, summary, _submission(type_name, fields).model_dump(mode="json", exclude_none=True)
            )
            for name, summary, fields in examples
        ]
        for type_name, examples in _SUBMISSIONS.items()
    }


def _event_id(number: int) -> UUID:
    return UUID(f"01974a2e-5c00-7a1b-8c3d-4e5f6071{number:04x}")


def case_event_examples() -> dict[str, list[MessageExample]]:
    """The case event intake records for each example submission: pseudonyms instead of identifiers."""
    examples: dict[str, list[MessageExample]] = {}
    number = 0
    for type_name, submissions in _SUBMISSIONS.items():
        for name, summary, fields in submissions:
            number += 1
            submission = _submission(type_name, fields)
            correlation = _event_id(0x1000 + number)
            event = case_event_from_submission(
                submission,
                person=_PERSONS[submission.person_id],
                pseudonymize_case=lambda case: _CASE_PSEUDONYMS[case],
                recorded_at=_RECORDED_AT,
                correlation_id=correlation,
                causation_id=correlation,
                event_id=_event_id(number),
            )
            examples.setdefault(type_name, []).append(
                MessageExample(name, f"Recorded from: {summary[0].lower()}{summary[1:]}", _json(event))
            )
    return examples


def _json(event: Any) -> dict[str, JsonValue]:
    dumped: dict[str, JsonValue] = event.model_dump(mode="json")
    return dumped


def _envelope(number: int, returned_on: str, submission_id: str) -> dict[str, Any]:
    return {
        "event_id": _event_id(0x2000 + number),
        "occurred_on": date.fromisoformat(returned_on),
        "recorded_at": _RECORDED_AT,
        "person": _PERSON,
        "correlation_id": _event_id(0x3000 + number),
        "causation_id": _event_id(0x4000 + number),
        "submission": SubmissionRef(source="army-plus", submission_id=submission_id),
    }


_FACTS: Final[dict[str, JsonValue]] = {
    "absent_since": "2025-01-10",
    "prior_cases": [],
    "channel": "army-plus",
    "window": {"from": "2024-11-29", "to": "2025-08-30"},
}
_REPEAT: Final[dict[str, JsonValue]] = {
    **_FACTS,
    "prior_cases": [{"case": "K8AFXs2aVuq0vC1onb6S2b3Tdt1bS1nXL4I9Oy9awQY", "absent_since": "2024-08-03"}],
}


def _decisions() -> dict[str, list[tuple[str, str, DecisionEvent]]]:
    granted = AmnestyGrantedData(
        regime="window-2",
        rule_set=_RULE_SET,
        returned_on=date(2025, 5, 20),
        reinstate_by=datetime.fromisoformat("2025-05-23T00:00:00+03:00"),
        facts=_FACTS,
    )
    return {
        "AmnestyGranted": [
            (
                "window-2",
                "A return inside the second window",
                AmnestyGrantedEvent(**_envelope(1, "2025-05-20", "ap-7f3c21"), data=granted),
            ),
            (
                "window-1",
                "A return inside the first window",
                AmnestyGrantedEvent(
                    **_envelope(2, "2024-12-10", "ap-11d0e2"),
                    data=granted.model_copy(
                        update={
                            "regime": "window-1",
                            "returned_on": date(2024, 12, 10),
                            "reinstate_by": datetime.fromisoformat("2024-12-13T00:00:00+02:00"),
                        }
                    ),
                ),
            ),
        ],
        "AmnestyDenied": [
            (
                "outside-window",
                "A return after every window closed",
                AmnestyDeniedEvent(
                    **_envelope(3, "2025-09-02", "ap-90aa01"),
                    data=AmnestyDeniedData(
                        reason=DenialReason.OUTSIDE_WINDOW,
                        rule_set=_RULE_SET,
                        returned_on=date(2025, 9, 2),
                        facts=_FACTS,
                    ),
                ),
            ),
            (
                "repeat-offence",
                "A second absence: the amnesty is granted once",
                AmnestyDeniedEvent(
                    **_envelope(4, "2025-05-20", "ap-90aa02"),
                    data=AmnestyDeniedData(
                        reason=DenialReason.REPEAT_OFFENCE,
                        rule_set=_RULE_SET,
                        returned_on=date(2025, 5, 20),
                        facts=_REPEAT,
                    ),
                ),
            ),
        ],
        "EligibilityPending": [
            (
                "case-unknown",
                "A return whose case has not arrived yet",
                EligibilityPendingEvent(
                    **_envelope(5, "2025-05-20", "ap-7f3c21"),
                    data=EligibilityPendingData(
                        reason=PendingReason.CASE_UNKNOWN, returned_on=date(2025, 5, 20)
                    ),
                ),
            ),
            (
                "case-unknown-detention",
                "A detention whose case has not arrived yet",
                EligibilityPendingEvent(
                    **_envelope(6, "2025-04-28", "mp-2025-55211"),
                    data=EligibilityPendingData(
                        reason=PendingReason.CASE_UNKNOWN, returned_on=date(2025, 4, 28)
                    ),
                ),
            ),
        ],
        "AmnestyRevoked": [
            (
                "repeat-offence",
                "An earlier case arrived after the grant: the grant is revoked",
                AmnestyRevokedEvent(
                    **_envelope(7, "2025-05-20", "ap-7f3c21"),
                    data=AmnestyRevokedData(
                        reason=DenialReason.REPEAT_OFFENCE,
                        revokes=_event_id(0x2001),
                        rule_set=_RULE_SET,
                        facts=_REPEAT,
                    ),
                ),
            ),
            (
                "not-voluntary",
                "The return turned out to be a detention: the grant is revoked",
                AmnestyRevokedEvent(
                    **_envelope(8, "2025-05-20", "ap-7f3c21"),
                    data=AmnestyRevokedData(
                        reason=DenialReason.NOT_VOLUNTARY,
                        revokes=_event_id(0x2001),
                        rule_set=_RULE_SET,
                        facts=_FACTS,
                    ),
                ),
            ),
        ],
    }


def decision_examples() -> dict[str, list[MessageExample]]:
    """Two decisions of every type, as eligibility publishes them."""
    return {
        type_name: [MessageExample(name, summary, _json(event)) for name, summary, event in decisions]
        for type_name, decisions in _decisions().items()
    }


def rejected_examples() -> list[MessageExample]:
    """Rejected messages as intake publishes them: the reason, and the original bytes in base64."""
    cases = [
        (
            "invalid-json",
            "Not JSON",
            b'{"type": "CaseOpened", "source": "erdr",',
            Rejection(
                RejectionReason.INVALID_JSON,
                "Expecting property name enclosed in double quotes at line 1 column 41",
            ),
        ),
        (
            "invalid-field",
            "A date that does not exist",
            b'{"type": "Detained", "source": "military-police", "submission_id": "mp-1", '
            b'"person_id": "3012345678", "detained_on": "2025-02-30"}',
            Rejection(RejectionReason.INVALID_FIELD, "detained_on: input is not a valid date"),
        ),
    ]
    return [
        MessageExample(
            name,
            summary,
            _json(
                rejected_message(
                    raw,
                    rejection,
                    topic=UPSTREAM,
                    partition=3,
                    offset=1041 + i,
                    service="intake",
                    now=_RECORDED_AT,
                )
            ),
        )
        for i, (name, summary, raw, rejection) in enumerate(cases)
    ]
