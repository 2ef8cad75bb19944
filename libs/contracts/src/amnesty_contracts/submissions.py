"""What upstream systems send on `amnesty.upstream.v1`: the five submission types of the contract."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from pydantic_core import PydanticCustomError

from amnesty_contracts.dates import NotFutureDate
from amnesty_contracts.field_types import (
    Article,
    ArticlePart,
    Branch,
    CaseNumber,
    Channel,
    Outcome,
    PersonId,
    SourceName,
    SubmissionId,
    UnitName,
)
from amnesty_contracts.regions import RegionCode


def _type_is_required(schema: dict[str, Any]) -> None:
    # `type` has a default so that Python code can build a submission without repeating its class name,
    # but upstream JSON must always carry it.
    schema["required"] = ["type", *(name for name in schema.get("required", []) if name != "type")]


_SHORTEST_JUDGED_ID = 5


class _Submission(BaseModel):
    # Unknown fields are ignored, not refused: upstream teams add fields over time and the contract only
    # grows by adding, so a newer sender must not have its submissions rejected. Ignored fields are dropped
    # here and never stored or forwarded, so no unvetted personal data passes intake through them.
    # An optional field sent as null counts as absent.
    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=_type_is_required)

    type: str
    source: SourceName
    submission_id: SubmissionId
    person_id: PersonId

    @model_validator(mode="after")
    def _no_identifier_in_the_submission_id(self) -> Self:
        # submission_id travels on past intake (events, decisions, read models); a source whose record id
        # is the tax or case number would carry it there. Very short person ids are too common a
        # substring to judge by.
        identifiers = [self.person_id] if len(self.person_id) >= _SHORTEST_JUDGED_ID else []
        identifiers += [str(getattr(self, "case_number", None) or "")]
        # In any case: the person_id is kept upper-cased, and a record id may hold it as typed.
        submission_id = self.submission_id.casefold()
        if any(i and i.casefold() in submission_id for i in identifiers):
            raise PydanticCustomError(
                "identifier_in_submission_id",
                "submission_id: must not contain the person_id or case_number (personal data)",
            )
        return self


class CaseOpened(_Submission):
    """A criminal proceeding under article 407 or 408 was entered into the ERDR."""

    type: Literal["CaseOpened"] = "CaseOpened"
    case_number: CaseNumber
    article: Article
    article_part: ArticlePart | None = None
    absent_since: NotFutureDate
    registered_on: NotFutureDate
    region: RegionCode
    unit: UnitName | None = None
    branch: Branch | None = None

    @model_validator(mode="after")
    def _absence_precedes_registration(self) -> Self:
        if self.absent_since > self.registered_on:
            raise PydanticCustomError(
                "absence_after_registration", "absent_since: must be on or before registered_on"
            )
        return self

    @property
    def occurred_on(self) -> date:
        """The business date: the case exists from its registration."""
        return self.registered_on


class VoluntaryReturn(_Submission):
    """A soldier came back of his own will and reported through one of the channels."""

    type: Literal["VoluntaryReturn"] = "VoluntaryReturn"
    returned_on: NotFutureDate
    channel: Channel
    case_number: CaseNumber | None = None
    region: RegionCode | None = None
    unit: UnitName | None = None

    @property
    def occurred_on(self) -> date:
        """The business date: the day of the return."""
        return self.returned_on


class Detained(_Submission):
    """A soldier was brought back by detention, which is not a voluntary return."""

    type: Literal["Detained"] = "Detained"
    detained_on: NotFutureDate
    case_number: CaseNumber | None = None
    region: RegionCode | None = None

    @property
    def occurred_on(self) -> date:
        """The business date: the day of the detention."""
        return self.detained_on


class CaseReclassified(_Submission):
    """A proceeding moved between article 407 and 408."""

    type: Literal["CaseReclassified"] = "CaseReclassified"
    case_number: CaseNumber
    article: Article
    reclassified_on: NotFutureDate

    @property
    def occurred_on(self) -> date:
        """The business date: the day of the reclassification."""
        return self.reclassified_on


class CaseClosed(_Submission):
    """A proceeding ended: released (e.g. under art. 401 part 5), convicted, or otherwise."""

    type: Literal["CaseClosed"] = "CaseClosed"
    case_number: CaseNumber
    closed_on: NotFutureDate
    outcome: Outcome

    @property
    def occurred_on(self) -> date:
        """The business date: the day the proceeding was closed."""
        return self.closed_on


_AnySubmission = CaseOpened | VoluntaryReturn | Detained | CaseReclassified | CaseClosed

Submission = Annotated[_AnySubmission, Field(discriminator="type")]
"""Any upstream submission; `type` tells which."""

SUBMISSION_MODELS: Final[Mapping[str, type[_AnySubmission]]] = MappingProxyType(
    {
        "CaseOpened": CaseOpened,
        "VoluntaryReturn": VoluntaryReturn,
        "Detained": Detained,
        "CaseReclassified": CaseReclassified,
        "CaseClosed": CaseClosed,
    }
)

SUBMISSION_ADAPTER: Final[TypeAdapter[Submission]] = TypeAdapter(Submission)


def canonical_submission(submission: Submission) -> bytes:
    """The submission's content in a canonical JSON form, for recognising "resent with the same content".

    Two submissions with equal canonical bytes say the same thing: fields are compared after validation
    (sorted keys, absent and null alike, unknown fields ignored). The bytes hold raw identifiers: whoever
    keeps something to compare later must key it (an HMAC), since a plain hash of a 10-digit identifier
    is reversed by brute force in seconds.
    """
    return canonical_json(submission.model_dump(mode="json", exclude_none=True))


def canonical_json(content: Mapping[str, Any]) -> bytes:
    """The bytes `json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` wrote
    first (intake's submission log keeps digests of them), in a tenth of the time for a submission's
    content: field names, printable strings, integers and booleans, which orjson writes alike."""
    try:
        return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        # orjson writes integers of at most 64 bits. A submission's are within 2^53 (ArticlePart); the
        # fallback keeps the encoder total for any other content.
        return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
