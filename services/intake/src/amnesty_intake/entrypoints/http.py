"""The HTTP door: POST /v1/submissions, one object or an array, answered item by item.

The route reads the body itself, to judge a single submission on the exact bytes received and to refuse
an oversized or too slow body while reading it; so FastAPI does not parse it, and its OpenAPI description
(the contract's submission schema, one or an array) is given as is. Parsing and validating a body of
megabytes takes CPU time: it runs in a worker thread, so /healthz and other requests are answered
meanwhile. Each token belongs to one source (domain/senders.py). Concurrent requests' screened
submissions are recorded together, in one transaction (a group commit).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
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
from amnesty_intake.domain.senders import Sender, SourceTokens
from amnesty_intake.entrypoints.request_items import TooManyItemsError, array_items
from amnesty_intake.service_layer.admission import SERVICE, Admission, Incoming, Outcome, Screened, report
from amnesty_runtime.problems import ProblemError, problem_openapi
from amnesty_runtime.processing import count_batch

MAX_ITEMS = 1000
# A few MB: enough for a full array of typical submissions (about 500 bytes each), small enough that
# parsing one body takes a fraction of a second of a worker thread.
MAX_BODY_BYTES = 4 * 1024 * 1024

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


async def _read_capped(request: Request, timeout_s: float) -> bytes:
    """The body, refused past the limit while reading (a missing or false Content-Length cannot bypass
    it), and cut with a 408 when it is not all there in time (a slow sender holds a connection)."""
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise _too_large(f"at most {MAX_BODY_BYTES} bytes per request")
    except TimeoutError:
        raise ProblemError(
            408,
            f"the request body was not received within {timeout_s:g} s",
            code="request-timeout",
            headers={"Connection": "close"},
        ) from None
    return bytes(body)


def _items(body: bytes) -> list[Incoming]:
    """The items of a body; CPU-bound.

    An array's items are judged each on the exact bytes its sender wrote (``request_items``), the 64 KiB
    limit per item; one object, or a body whose array is broken, is judged whole, on its exact bytes.
    """
    try:
        parts = array_items(body, MAX_ITEMS)
    except TooManyItemsError:
        raise ProblemError(
            413, f"at most {MAX_ITEMS} submissions per request", code="too-many-items"
        ) from None
    return [Incoming(body)] if parts is None else [Incoming(part) for part in parts]


def _sources(screened: Sequence[Screened]) -> list[object]:
    """The `source` each item names, for the token's check (None where it names none): a valid
    submission's as parsed; a refused one's read from its JSON, since it may still name one (and is
    then kept as a dead letter under this token). The valid ones are not parsed a second time."""
    return [
        s.parsed.source if not isinstance(s.parsed, Rejection) else _named_source(s.item.raw)
        for s in screened
    ]


def _screened(admission: Admission, items: Sequence[Incoming]) -> tuple[list[Screened], list[object]]:
    """The items screened, and the source each names; CPU-bound (a refused 4 MiB body is parsed for
    its source), so run off the event loop."""
    screened = admission.screen(items)
    return screened, _sources(screened)


def _named_source(raw: bytes) -> object:
    document = parse_json_document(raw, max_bytes=MAX_BODY_BYTES)
    return document.get("source") if isinstance(document, dict) else None


def _refuse_other_sources(sender: Sender, sources: Sequence[object]) -> None:
    if not all(sender.may_submit_as(source) for source in sources):
        raise ProblemError(
            403,
            f"this token may submit only as source {sender.name!r}",
            code="source-not-allowed",
        )


def _admitted(outcome: Outcome | Exception) -> Outcome:
    if isinstance(outcome, Exception):  # recording answers every item; an exception fails the whole call
        raise outcome
    return outcome


HttpAdmissions = GroupCommit[Screened, Outcome]
"""Recording of screened HTTP submissions, concurrent requests' items recorded together in one transaction."""


def submissions_router(
    admission: Callable[[], Admission],
    admissions: Callable[[], HttpAdmissions],
    tokens: SourceTokens,
    *,
    body_timeout_s: float = 30.0,
) -> APIRouter:
    router = APIRouter()

    def authenticated(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> None:
        found = None if credentials is None else tokens.sender(credentials.credentials)
        if found is None:
            raise ProblemError(
                401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        request.state.sender = found

    @router.post(
        "/v1/submissions",
        dependencies=[Depends(authenticated)],
        tags=["submissions"],
        response_model=SubmissionResults,
        response_model_exclude_unset=True,
        openapi_extra={"requestBody": _request_body()},
        responses={
            401: problem_openapi("No bearer token, or not a known one."),
            403: problem_openapi("A submission names another source than the token's own."),
            408: problem_openapi(f"The body was not received in full within {body_timeout_s:g} s."),
            413: problem_openapi(f"Over {MAX_BODY_BYTES} bytes, or over {MAX_ITEMS} submissions."),
        },
    )
    async def post_submissions(request: Request) -> dict[str, Any]:
        """Admit submissions as if they came through amnesty.upstream.v1: each is accepted (recorded as
        an event), a duplicate of one already recorded, or rejected with its reason. Every submission
        must name the source the token belongs to."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise _too_large(f"at most {MAX_BODY_BYTES} bytes per request")
        body = await _read_capped(request, body_timeout_s)
        items = await asyncio.to_thread(_items, body)
        screened, sources = await asyncio.to_thread(_screened, admission(), items)
        _refuse_other_sources(request.state.sender, sources)
        started = time.perf_counter()
        outcomes = [_admitted(o) for o in await admissions().submit(screened)]
        count_batch(SERVICE, ["http"] * len(items), report(outcomes), time.perf_counter() - started)
        return {"results": [_result(i, o) for i, o in enumerate(outcomes)]}

    return router
