"""One spelling per identifier: the normalization intake applies before it validates and pseudonymizes."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amnesty_contracts.identifiers import is_case_number, is_person_id, normalize_identifier

# Every character Unicode counts as a decimal digit, by its value: ASCII, full-width, Arabic-Indic,
# Extended Arabic-Indic, Devanagari, Bengali, … (NFKC alone folds only some of them).
_DIGITS = {
    value: [chr(c) for c in range(0x110000) if chr(c).isdecimal() and int(chr(c)) == value]
    for value in range(10)
}
_SPACES = st.text(alphabet=" \t\n\u00a0\u2003\u3000", max_size=3)


def _spelled(canonical: str) -> st.SearchStrategy[str]:
    """Any spelling of ``canonical`` intake must accept as it: its digits in any script, its letters in
    either case (or full-width), whitespace around it."""
    characters = [
        st.sampled_from(_DIGITS[int(c)])
        if c.isdigit()
        else st.sampled_from([c, c.lower(), chr(ord(c) - 0x21 + 0xFF01)])
        for c in canonical
    ]
    return st.tuples(_SPACES, *characters, _SPACES).map("".join)


_TAX_NUMBERS = st.text(alphabet="0123456789", min_size=10, max_size=10)
_SERVICE_NUMBERS = st.builds(
    "{}-{}".format,
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=3),
    st.text(alphabet="0123456789", min_size=4, max_size=8),
)


@pytest.mark.parametrize(
    "spelling",
    [
        " 3012345678 ",
        "\uff13\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",  # full-width
        "\u0663\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",  # Arabic-Indic
        "\u06f3\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8",  # Extended Arabic-Indic (Persian)
        "\t\u0663\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u3000",
    ],
)
def test_the_spellings_of_one_tax_number_are_one_identifier(spelling: str) -> None:
    assert normalize_identifier(spelling) == "3012345678"


@given(st.one_of(_TAX_NUMBERS, _SERVICE_NUMBERS).flatmap(lambda c: st.tuples(st.just(c), _spelled(c))))
def test_every_accepted_spelling_maps_to_one_canonical_ascii_form(pair: tuple[str, str]) -> None:
    canonical, spelling = pair
    normalized = normalize_identifier(spelling)
    assert normalized == canonical
    assert normalized.isascii()
    assert is_person_id(normalized)


@given(st.text())
def test_normalization_is_idempotent(value: str) -> None:
    once = normalize_identifier(value)
    assert normalize_identifier(once) == once


@given(st.text())
def test_whatever_is_accepted_is_canonical_ascii(value: str) -> None:
    normalized = normalize_identifier(value)
    if is_person_id(normalized) or is_case_number(normalized):
        assert normalized.isascii()
        assert normalize_identifier(normalized) == normalized


@pytest.mark.parametrize(
    "value",
    ["", "301234567", "30123456789", "3012345678x", "30 12345678", "Petrenko", "BN417203", "+380501234567"],
)
def test_anything_else_is_no_person_id(value: str) -> None:
    assert not is_person_id(normalize_identifier(value))


def test_a_case_number_is_normalized_like_a_person_id() -> None:
    assert normalize_identifier(" " + "\u0661" * 17 + " ") == "1" * 17
    assert is_case_number("1" * 17)


def _by_definition(value: str) -> str:
    """The canonical spelling as the module's docstring defines it, one character at a time."""
    folded = unicodedata.normalize("NFKC", value).strip()
    return "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() else c.upper() if c.isascii() else c for c in folded
    )


# The ASCII fast path answers what the definition does: any ASCII text (control characters and
# whitespace too), and any text at all.
@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_an_ascii_spelling_is_normalized_by_the_definition(value: str) -> None:
    assert normalize_identifier(value) == _by_definition(value)


@given(st.text())
def test_any_spelling_is_normalized_by_the_definition(value: str) -> None:
    assert normalize_identifier(value) == _by_definition(value)
