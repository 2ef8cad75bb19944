"""Good example messages of every type, built fresh for each test so that tests may change them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Final
from uuid import UUID

from pydantic import JsonValue

TODAY: Final = date(2025, 6, 1)
PERSON_ID: Final = "3087654321"
CASE_NUMBER: Final = "12025100000004217"
PERSON: Final = "p_4f1c9a0b7d2e"
CASE: Final = "c_91d0e7aa35f2"
RECORDED_AT: Final = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
KYIV_SUMMER: Final = timezone(timedelta(hours=3))
EVENT_ID: Final = UUID("01974a2e-5c00-7a1b-8c3d-4e5f60718293")
GRANT_ID: Final = UUID("01974a2e-5c00-7a1b-8c3d-4e5f60718294")
CORRELATION_ID: Final = UUID("0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3")


def submission(type_name: str, **changes: JsonValue) -> dict[str, JsonValue]:
    """A valid submission of `type_name` with its required fields, then `changes` applied."""
    common: dict[str, JsonValue] = {
        "type": type_name,
        "source": "erdr",
        "submission_id": f"{type_name}-1",
        "person_id": PERSON_ID,
    }
    own: dict[str, dict[str, JsonValue]] = {
        "CaseOpened": {
            "case_number": CASE_NUMBER,
            "article": "407",
            "absent_since": "2025-01-10",
            "registered_on": "2025-01-20",
            "region": "UA-48",
        },
        "VoluntaryReturn": {"returned_on": "2025-05-20", "channel": "army-plus"},
        "Detained": {"detained_on": "2025-05-21"},
        "CaseReclassified": {"case_number": CASE_NUMBER, "article": "408", "reclassified_on": "2025-03-01"},
        "CaseClosed": {"case_number": CASE_NUMBER, "closed_on": "2025-04-01", "outcome": "released"},
    }
    return {**common, **own[type_name], **changes}


OPTIONAL_FIELDS: Final[dict[str, dict[str, JsonValue]]] = {
    "CaseOpened": {"article_part": 5, "unit": "military unit A0000", "branch": "ZSU"},
    "VoluntaryReturn": {"case_number": CASE_NUMBER, "region": "UA-30", "unit": "reserve battalion 3"},
    "Detained": {"case_number": CASE_NUMBER, "region": "UA-43"},
    "CaseReclassified": {},
    "CaseClosed": {},
}

SUBMISSION_TYPES: Final = tuple(OPTIONAL_FIELDS)


def encode(value: Any) -> bytes:
    """The JSON bytes of `value`, as an upstream system would send them."""
    return json.dumps(value).encode()


def envelope(type_name: str, data: dict[str, JsonValue], /, **changes: JsonValue) -> dict[str, JsonValue]:
    """A valid domain event of `type_name` carrying `data`, then `changes` applied."""
    event: dict[str, JsonValue] = {
        "event_id": str(EVENT_ID),
        "type": type_name,
        "schema_version": 1,
        "occurred_on": "2025-05-20",
        "recorded_at": "2025-06-01T09:30:00Z",
        "person": PERSON,
        "correlation_id": str(CORRELATION_ID),
        "causation_id": str(CORRELATION_ID),
        "submission": {"source": "army-plus", "submission_id": "r-77"},
        "data": data,
    }
    return {**event, **changes}


CASE_EVENT_DATA: Final[dict[str, dict[str, JsonValue]]] = {
    "CaseOpened": {
        "case_number": CASE,
        "article": "407",
        "article_part": 5,
        "absent_since": "2025-01-10",
        "registered_on": "2025-01-20",
        "region": "UA-48",
        "unit": "u_5c0a19e2b7d4",
        "branch": "ZSU",
    },
    "VoluntaryReturn": {
        "returned_on": "2025-05-20",
        "channel": "army-plus",
        "case_number": CASE,
        "region": "UA-30",
        "unit": "u_8e41f3a06c2b",
    },
    "Detained": {"detained_on": "2025-05-21", "case_number": CASE, "region": "UA-40"},
    "CaseReclassified": {"case_number": CASE, "article": "408", "reclassified_on": "2025-03-01"},
    "CaseClosed": {"case_number": CASE, "closed_on": "2025-04-01", "outcome": "convicted"},
}

FACTS: Final[dict[str, JsonValue]] = {"absent_since": "2025-01-10", "prior_cases": 0, "channel": "army-plus"}

DECISION_EVENT_DATA: Final[dict[str, dict[str, JsonValue]]] = {
    "AmnestyGranted": {
        "regime": "window-2",
        "rule_set": "2025-05-10",
        "returned_on": "2025-05-20",
        "reinstate_by": "2025-05-23T00:00:00+03:00",
        "facts": FACTS,
    },
    "AmnestyDenied": {
        "reason": "outside-window",
        "rule_set": "2025-05-10",
        "returned_on": "2025-09-02",
        "facts": FACTS,
    },
    "EligibilityPending": {"reason": "case-unknown", "returned_on": "2025-05-20"},
    "AmnestyRevoked": {
        "reason": "repeat-offence",
        "revokes": str(GRANT_ID),
        "rule_set": "2025-05-10",
        "facts": {"prior_cases": 1},
    },
}
