"""Pseudonyms are keyed, stable, separated by kind, and shaped as the contract's pseudonym field."""

from __future__ import annotations

import re

import pytest

from amnesty_intake.domain.pseudonyms import Pseudonymizer

KEY = b"k" * 32


def test_the_same_identifier_under_the_same_key_gives_the_same_pseudonym() -> None:
    assert Pseudonymizer(KEY).person("3012345678") == Pseudonymizer(KEY).person("3012345678")


def test_another_key_gives_another_pseudonym() -> None:
    assert Pseudonymizer(KEY).person("3012345678") != Pseudonymizer(b"j" * 32).person("3012345678")


def test_a_person_and_a_case_with_the_same_digits_get_different_pseudonyms() -> None:
    pseudonyms = Pseudonymizer(KEY)
    assert pseudonyms.person("12024100000001234") != pseudonyms.case("12024100000001234")


def test_pseudonyms_fit_the_contracts_pseudonym_pattern_and_hide_the_identifier() -> None:
    value = Pseudonymizer(KEY).person("3012345678")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,128}", value)
    assert "3012345678" not in value


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Pseudonymizer(b"short")


def test_a_pseudonym_stays_what_it_was_across_releases() -> None:
    # Stored events and every service's state are keyed by these: HMAC-SHA256 of "<label>\0<value>",
    # URL-safe base64 without padding. The expected values were computed with hmac.new, independently.
    pseudonyms = Pseudonymizer(bytes(range(32)))
    assert pseudonyms.person("1234567890") == "_oLVzYm5FUvlDGh9lMBhQ_YebBNrl-RCuLhqficpZCE"
    assert pseudonyms.case("12345678901234567") == "iXF8BjQyPiokBvf9K2Vrc6fHg0bBt6YUf5Q3FDqBAOc"
    # Every label: the submission log's content digests and the events' other pseudonyms too.
    assert pseudonyms.submission_id("erdr-2025-000001") == "shA4e6vqCYGSYba1F5l-KvDqXSutWLtnZOEv4c52m9U"
    assert pseudonyms.unit("A1234") == "FsqYichubFYtKvy9du6iazi0lIvC7-cUHKrIs6YEjHc"
    assert pseudonyms.content(b'{"type":"Detained"}') == "sPcAk1FtNMd8mCz4ToXrL2FH2tyHgyyvd4bnU7srvH4"
