"""The field types the contract's messages share: identifiers, codes and the vocabularies of the law."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Annotated, Final

from pydantic import UUID7, AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from amnesty_contracts.identifiers import (
    CASE_NUMBER_PATTERN,
    PERSON_ID_PATTERN,
    is_case_number,
    is_person_id,
    normalize_identifier,
)


class Article(StrEnum):
    """The Criminal Code article of a proceeding: 407 unauthorized absence, 408 desertion."""

    UNAUTHORIZED_ABSENCE = "407"
    DESERTION = "408"


class Branch(StrEnum):
    """The armed formation the soldier serves in."""

    ZSU = "ZSU"
    NGU = "NGU"
    DPSU = "DPSU"
    DSST = "DSST"


class Channel(StrEnum):
    """How a return was reported."""

    UNIT = "unit"
    RESERVE_BATTALION = "reserve-battalion"
    MILITARY_POLICE = "military-police"
    ARMY_PLUS = "army-plus"
    POLICE = "police"
    SBI = "sbi"


class Outcome(StrEnum):
    """How a proceeding ended."""

    RELEASED = "released"
    CONVICTED = "convicted"
    OTHER = "other"


def _printable(value: str) -> str:
    # str.isprintable also refuses lone surrogates, which could not be written back out as UTF-8 JSON.
    if not value.isprintable():
        raise PydanticCustomError("printable", "must contain printable characters only")
    return value


def _canonical_identifier(value: object) -> object:
    # Only strings are normalized: anything else is left for the strict string check to refuse.
    return normalize_identifier(value) if isinstance(value, str) else value


def _person_id(value: str) -> str:
    if not is_person_id(value):
        raise PydanticCustomError(
            "person_id",
            "must be a tax number (10 digits) or a service number (1-3 Latin letters, '-', 4-8 digits)",
        )
    return value


def _case_number(value: str) -> str:
    if not is_case_number(value):
        raise PydanticCustomError("case_number", "must be an ERDR proceeding number (17 digits)")
    return value


# No dots, commas, "+" or brackets, so "soldier Petrenko I.I., tel +380..." is refused outright.
UNIT_PATTERN: Final = r"^[A-Za-z0-9]+([-/ ][A-Za-z0-9]+)*$"
MAX_UNIT_CHARS: Final = 64


def _unit(value: str) -> str:
    if len(value) > MAX_UNIT_CHARS or re.fullmatch(UNIT_PATTERN, value) is None:
        raise PydanticCustomError(
            "unit",
            "must be a unit designation: at most 64 ASCII letters and digits in groups joined by one "
            "space, '-' or '/'",
        )
    return value


def _trimmed_nfkc(value: object) -> object:
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


# Strings are strict (a JSON number is not a string). Identifiers are normalized once, here, before
# they are validated and pseudonymized (identifiers.py says why); the canonical form is what a model
# holds. Free text is not allowed through: every string that travels past intake has a strict pattern,
# so that a name or a phone number cannot ride along in it (and the free-text ones are pseudonymized
# at intake as well).
PersonId = Annotated[
    str,
    BeforeValidator(_canonical_identifier),
    Field(
        strict=True,
        description=(
            "raw tax number (10 digits) or service number (1-3 Latin letters, '-', 4-8 digits); "
            "trimmed, NFKC-normalized and its digits folded to ASCII before it is checked"
        ),
        json_schema_extra={"pattern": PERSON_ID_PATTERN},
    ),
    AfterValidator(_person_id),
]
SourceName = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="the sending system: lower-case words joined by hyphens",
        examples=["erdr"],
    ),
]
SubmissionId = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description=(
            "unique within its source: ASCII letters, digits and . _ : - only; "
            "intake records it pseudonymized (a keyed digest)"
        ),
    ),
]
UnitName = Annotated[
    str,
    BeforeValidator(_trimmed_nfkc),
    Field(
        strict=True,
        json_schema_extra={"pattern": UNIT_PATTERN, "maxLength": MAX_UNIT_CHARS},
        description=(
            "military unit designation: ASCII letters and digits in groups joined by one space, - or /; "
            "intake records it pseudonymized (a keyed digest)"
        ),
        examples=["A1234", "unit-17"],
    ),
    AfterValidator(_unit),
]
RuleSetVersion = Annotated[
    str,
    Field(strict=True, min_length=1, max_length=64, description="version of the rule set that decided"),
    AfterValidator(_printable),
]
CaseNumber = Annotated[
    str,
    BeforeValidator(_canonical_identifier),
    Field(
        strict=True,
        description="ERDR proceeding number: 17 digits (normalized like person_id before it is checked)",
        json_schema_extra={"pattern": CASE_NUMBER_PATTERN},
    ),
    AfterValidator(_case_number),
]
MAX_ARTICLE_PART: Final = 2**53 - 1
"""The largest article part taken: JSON sets no bound, but its consumers do. Beyond 64 bits orjson cannot
write a number, and such an article part used to pass intake's checks and then fail every attempt to
store it: its batch came again forever, never dead-lettered. The bound is I-JSON's (RFC 7493): every
JSON reader takes these integers exactly, JavaScript's too, and so does the OpenAPI document, which
writes bounds as floating-point numbers."""
ArticlePart = Annotated[int, Field(strict=True, gt=0, le=MAX_ARTICLE_PART, description="part of the article")]
Pseudonym = Annotated[
    str,
    Field(
        strict=True,
        pattern=r"^[A-Za-z0-9_-]{1,128}$",
        description="keyed pseudonym of a person or case number, never the raw identifier",
    ),
]
RegimeId = Annotated[
    str,
    Field(
        strict=True,
        max_length=64,
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="the regime (window of the law) applied; regimes are data, so the set is open",
        examples=["window-1", "window-2", "pilot-2026"],
    ),
]

# pydantic writes UUID7 as format "uuid7", which no JSON Schema validator knows; "uuid" is the standard one.
EventId = Annotated[
    UUID7, WithJsonSchema({"type": "string", "format": "uuid", "description": "UUID v7 of an event"})
]
"""An event's id: a UUID of version 7 (time-ordered)."""
