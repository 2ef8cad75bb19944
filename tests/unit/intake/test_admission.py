"""Idempotency by (source, submission_id): new, resent with the same content, or contradicting it."""

from __future__ import annotations

import pytest

from amnesty_contracts import Rejection, RejectionReason
from amnesty_intake.domain.admission import Candidate, Verdict, classify

A, B = ("erdr", "1"), ("erdr", "2")


def _reasons(answers: list[Verdict | Rejection]) -> list[str]:
    return [a.reason if isinstance(a, Rejection) else str(a) for a in answers]


@pytest.mark.parametrize(
    ("candidates", "claimed", "stored", "expected"),
    [
        ([Candidate(A, "x")], {A}, {}, ["accepted"]),
        ([Candidate(A, "x")], set(), {A: "x"}, ["duplicate"]),
        ([Candidate(A, "y")], set(), {A: "x"}, [RejectionReason.CONFLICTING_DUPLICATE]),
        # Within one batch the first occurrence decides; later ones compare with it.
        (
            [Candidate(A, "x"), Candidate(A, "x"), Candidate(A, "z")],
            {A},
            {},
            ["accepted", "duplicate", RejectionReason.CONFLICTING_DUPLICATE],
        ),
        ([Candidate(A, "x"), Candidate(B, "x")], {A, B}, {}, ["accepted", "accepted"]),
        (
            [Candidate(B, "q"), Candidate(B, "x")],
            set(),
            {B: "x"},
            [RejectionReason.CONFLICTING_DUPLICATE, "duplicate"],
        ),
    ],
)
def test_classify(
    candidates: list[Candidate],
    claimed: set[tuple[str, str]],
    stored: dict[tuple[str, str], str],
    expected: list[str],
) -> None:
    assert _reasons(classify(candidates, claimed, stored)) == expected


def test_a_conflict_detail_names_the_field_and_no_value() -> None:
    (answer,) = classify([Candidate(A, "y")], set(), {A: "x"})
    assert isinstance(answer, Rejection)
    assert answer.detail.startswith("submission_id:")
