"""The HTTP door: POST /v1/submissions, one object or an array, answered item by item.

The route reads the body itself, to judge a single submission on the exact bytes received and to refuse
an oversized body while reading it; so FastAPI does not parse it, and its OpenAPI description (the
contract's submission schema, one or an array) is given as is.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from amnesty_contracts import (
    MAX_MESSAGE_BYTES,
    SUBMISSION_ADAPTER,
    Rejection,
    RejectionReason,
    parse_json_document,
)
from amnesty_eventstore import GroupCommit
from amnesty_intake.domain.admission import Verdict
from amnesty_intake.service_layer.admission import SERVICE, Incoming, Outcome, report
from amnesty_runtime.problems import ProblemError, problem_openapi
from amnesty_runtime.processing import count_batch

MAX_ITEMS = 1000
MAX_BODY_BYTES = MAX_ITEMS * MAX_MESSAGE_BYTES

_bearer = HTTPBearer(auto_error=False)


class SubmissionResult(BaseModel):
    """What became of one submission of the request (`index` is its place in the array, 0 for one)."""

    index: int
    status: Verdict
    reason: RejectionReason | None = Field(default=None, description="Why it was rejected.")
    detail: str | None = Field(default=None, description="The rejection explained, naming the field.")
    event_id: uuid.UUID | None = Field(default=None, description="The id of the event it was recorded as.")


class SubmissionResults(BaseModel):
    results: list[SubmissionResult]


def _request_body() -> dict[str, Any]:
    """The OpenAPI request body: the contract's Submission schema, one object or an array of them."""
    submission = SUBMISSION_ADAPTER.json_schema(mode="validation")
    defs = submission.pop("$defs", {})
    one = {"$ref": "#/$defs/Submission"}
    schema = {
        "$defs": {**defs, "Submission": submission | {"title": "Submission"}},
        "oneOf": [one, {"type": "array", "items": one, "maxItems": MAX_ITEMS}],
    }
    return {
        "required": True,
        "description": (
            f"One submission or an array of at most {MAX_ITEMS}; at most {MAX_MESSAGE_BYTES} bytes each. "
            "An invalid submission is not an error of the request: its result says why it was rejected."
        ),
        "content": {"application/json": {"schema": schema}},
    }


def _too_large(detail: str) -> ProblemError:
    return ProblemError(413, detail, code="too-large")


def _result(index: int, outcome: Outcome) -> dict[str, Any]:
    result: dict[str, Any] = {"index": index, "status": str(outcome.verdict)}
    if outcome.reason is not None:
        result |= {"reason": outcome.reason, "detail": outcome.detail}
    if outcome.event_id is not None:
        result["event_id"] = str(outcome.event_id)
    return result


def _admitted(outcome: Outcome | Exception) -> Outcome:
    if isinstance(outcome, Exception):  # admission answers every item; an exception fails the whole call
        raise outcome
    return outcome


async def _read_capped(request: Request) -> bytes:
    """The body, refused past the limit while reading: a missing or false Content-Length cannot bypass it."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _too_large(f"at most {MAX_BODY_BYTES} bytes per request")
    return bytes(body)


HttpAdmissions = GroupCommit[Incoming, Outcome]
"""Admission of HTTP submissions, concurrent requests' items admitted together in one transaction."""


def submissions_router(admissions: Callable[[], HttpAdmissions], token: str) -> APIRouter:
    router = APIRouter()

    def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
            raise ProblemError(
                401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )

    @router.post(
        "/v1/submissions",
        dependencies=[Depends(authorised)],
        tags=["submissions"],
        response_model=SubmissionResults,
        response_model_exclude_unset=True,
        openapi_extra={"requestBody": _request_body()},
        responses={
            401: problem_openapi("No bearer token, or not the right one."),
            413: problem_openapi(f"Over {MAX_BODY_BYTES} bytes, or over {MAX_ITEMS} submissions."),
        },
    )
    async def post_submissions(request: Request) -> dict[str, Any]:
        """Admit submissions as if they came through amnesty.upstream.v1: each is accepted (recorded as
        an event), a duplicate of one already recorded, or rejected with its reason."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise _too_large(f"at most {MAX_BODY_BYTES} bytes per request")
        body = await _read_capped(request)
        document = parse_json_document(body, max_bytes=MAX_BODY_BYTES)
        if isinstance(document, Rejection) or not isinstance(document, list):
            # One object (or an unreadable body): judged on the exact bytes received, so a rejection keeps
            # the sender's original and its digest.
            items = [Incoming(body)]
        else:
            if len(document) > MAX_ITEMS:
                raise ProblemError(413, f"at most {MAX_ITEMS} submissions per request", code="too-many-items")
            # Items of an array are judged on their own bytes, re-serialised (a rejection's `original` is
            # then the item as re-encoded); the 64 KiB limit applies per item.
            items = [Incoming(json.dumps(v, ensure_ascii=False).encode()) for v in document]
        started = time.perf_counter()
        outcomes = [_admitted(o) for o in await admissions().submit(items)]
        count_batch(SERVICE, ["http"] * len(items), report(outcomes), time.perf_counter() - started)
        return {"results": [_result(i, o) for i, o in enumerate(outcomes)]}

    return router
