"""The field types the contract's messages share: identifiers, codes and the vocabularies of the law."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import UUID7, AfterValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError


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


# Strings are strict (a JSON number is not a string) and never stripped: the contract's values are exact.
PersonId = Annotated[
    str,
    Field(strict=True, min_length=1, max_length=64, description="raw tax or service number, printable"),
    AfterValidator(_printable),
]
SourceName = Annotated[
    str,
    Field(strict=True, min_length=1, max_length=64, description="the sending system", examples=["erdr"]),
    AfterValidator(_printable),
]
SubmissionId = Annotated[
    str,
    Field(strict=True, min_length=1, max_length=256, description="unique within its source"),
    AfterValidator(_printable),
]
UnitName = Annotated[str, Field(strict=True, min_length=1, max_length=128), AfterValidator(_printable)]
RuleSetVersion = Annotated[
    str,
    Field(strict=True, min_length=1, max_length=64, description="version of the rule set that decided"),
    AfterValidator(_printable),
]
CaseNumber = Annotated[
    str,
    Field(strict=True, pattern=r"^[0-9]{17}$", description="ERDR proceeding number: 17 digits"),
]
ArticlePart = Annotated[int, Field(strict=True, gt=0, description="part of the article")]
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
