"""What upstream might send to amnesty.upstream.v1: arbitrary bytes, JSON of any shape, and near-valid
submissions (a valid one with one field dropped, retyped or given a strange value)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from amnesty_contracts import MAX_MESSAGE_BYTES

_DATES = st.one_of(
    st.dates().map(str),
    st.sampled_from(["2025-02-30", "2025-13-01", "0000-01-01", "2099-12-31", "9999-12-31", "2025-1-1", ""]),
    st.text(max_size=12),
)

VALID: dict[str, dict[str, Any]] = {
    "CaseOpened": {
        "case_number": "12024100000001234",
        "article": "407",
        "absent_since": "2024-11-02",
        "registered_on": "2024-11-20",
        "region": "UA-48",
        "article_part": 1,
        "unit": "A1234",
        "branch": "ZSU",
    },
    "VoluntaryReturn": {"returned_on": "2025-01-15", "channel": "army-plus", "region": "UA-32"},
    "Detained": {"detained_on": "2025-02-01", "case_number": "12024100000001234"},
    "CaseReclassified": {
        "case_number": "12024100000001234",
        "article": "408",
        "reclassified_on": "2025-01-05",
    },
    "CaseClosed": {"case_number": "12024100000001234", "closed_on": "2025-03-01", "outcome": "released"},
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
"""Any JSON value (no NaN: json.dumps would write a token no JSON reader takes, a separate case below)."""

_strange_values = st.one_of(
    json_values,
    _DATES,
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just("x" * 70),
    st.sampled_from(["\x00", "\u202e", " ", "407 ", "UA-99", "ua-48", "1e400"]),
)


@st.composite
def near_valid_submissions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid submission of some type, then one of its fields dropped or given a strange value."""
    kind = draw(st.sampled_from(sorted(VALID)))
    submission: dict[str, Any] = {
        "type": kind,
        "source": draw(st.sampled_from(["erdr", "army-plus", "military-police"])),
        "submission_id": draw(st.uuids()).hex,
        "person_id": draw(st.from_regex(r"[0-9]{10}", fullmatch=True)),
        **VALID[kind],
    }
    field = draw(st.sampled_from([*sorted(submission), "extra"]))
    action = draw(st.sampled_from(["keep", "drop", "replace"]))
    if action == "drop":
        submission.pop(field, None)
    elif action == "replace":
        submission[field] = draw(_strange_values)
    return submission


def _around_the_limit(over: int) -> bytes:
    """A JSON object of MAX_MESSAGE_BYTES + ``over`` bytes."""
    return b'{"pad":"' + b"x" * (MAX_MESSAGE_BYTES - 10 + over) + b'"}'


upstream_bytes = st.one_of(
    st.binary(max_size=300),
    st.integers(min_value=-2, max_value=2).map(_around_the_limit),
    json_values.map(lambda v: json.dumps(v).encode()),
    near_valid_submissions().map(lambda s: json.dumps(s, ensure_ascii=False).encode()),
    near_valid_submissions().map(lambda s: json.dumps(s).encode().replace(b"}", b', "n": NaN}', 1)),
    near_valid_submissions().map(lambda s: json.dumps(s).encode()[:-1]),
    near_valid_submissions().map(lambda s: json.dumps(s).encode("utf-16")),
)
"""The bytes of one upstream message: noise, JSON of any shape, near-valid submissions, and their
encodings gone wrong (NaN, cut short, UTF-16); and bytes around the 64 KiB limit."""
