"""Raw identifiers in one canonical form, so that one soldier has one pseudonym whatever the spelling.

Upstream registers type the same tax number with stray spaces, full-width digits (East Asian input
methods) or Arabic-Indic digits (right-to-left keyboards). Keyed pseudonyms of different spellings would
differ, splitting one person in two and hiding a repeat offence, so every identifier is normalized once,
before it is validated or pseudonymized: NFKC, trimmed, every decimal digit folded to ASCII, Latin
letters upper-cased. Then each kind has a strict pattern; anything else is refused, never guessed at.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

TAX_NUMBER: Final = r"[0-9]{10}"
"""The RNOKPP (individual tax number): 10 digits."""

SERVICE_NUMBER: Final = r"[A-Z]{1,3}-[0-9]{4,8}"
"""A service number: 1-3 Latin letters, a hyphen, 4-8 digits (e.g. `BN-417203`)."""

CASE_NUMBER: Final = r"[0-9]{17}"
"""An ERDR proceeding number: 17 digits."""

PERSON_ID_PATTERN: Final = f"^(?:{TAX_NUMBER}|{SERVICE_NUMBER})$"
CASE_NUMBER_PATTERN: Final = f"^{CASE_NUMBER}$"

# Compiled once: every submission is checked against them (re.fullmatch looks its cache up each call).
_PERSON_ID: Final = re.compile(PERSON_ID_PATTERN)
_CASE_NUMBER: Final = re.compile(CASE_NUMBER_PATTERN)


def normalize_identifier(value: str) -> str:
    """The canonical spelling of a raw identifier: NFKC, trimmed, ASCII digits, upper-case Latin letters.

    NFKC folds full-width forms but leaves other scripts' digits (Arabic-Indic, Devanagari, ...)
    alone, so every character that is a decimal digit is folded by its digit value as well.
    Idempotent: a canonical spelling is its own canonical spelling.
    """
    if value.isascii():
        # What the general path gives ASCII, without a Python call per character (every submission has
        # one or two identifiers, nearly always ASCII): NFKC leaves ASCII as it is, and its only decimal
        # digits are 0-9 already.
        return value.strip().upper()
    folded = unicodedata.normalize("NFKC", value).strip()
    return "".join(_canonical_character(c) for c in folded)


def _canonical_character(character: str) -> str:
    if character.isdecimal():
        return str(unicodedata.decimal(character))
    # Only ASCII letters are upper-cased: other scripts' case mappings can change the length or leave
    # NFKC form (ß → SS), and no identifier kind has them anyway.
    return character.upper() if character.isascii() else character


def is_person_id(canonical: str) -> bool:
    """Whether a canonical spelling is a tax number or a service number."""
    return _PERSON_ID.fullmatch(canonical) is not None


def is_case_number(canonical: str) -> bool:
    """Whether a canonical spelling is an ERDR proceeding number."""
    return _CASE_NUMBER.fullmatch(canonical) is not None
