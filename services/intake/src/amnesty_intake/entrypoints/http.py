"""The HTTP door: POST /v1/submissions, one object or an array, answered item by item."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from amnesty_contracts import MAX_MESSAGE_BYTES, Rejection, parse_json_document
from amnesty_eventstore import Pool
from amnesty_intake.service_layer.admission import SERVICE, Admission, Incoming, Outcome, report
from amnesty_runtime.processing import count_batch

MAX_ITEMS = 1000
MAX_BODY_BYTES = MAX_ITEMS * MAX_MESSAGE_BYTES

_bearer = HTTPBearer(auto_error=False)
_TOO_LARGE = {"error": "too-large", "detail": f"at most {MAX_BODY_BYTES} bytes per request"}


def _result(index: int, outcome: Outcome) -> dict[str, Any]:
    result: dict[str, Any] = {"index": index, "status": str(outcome.verdict)}
    if outcome.reason is not None:
        result |= {"reason": outcome.reason, "detail": outcome.detail}
    if outcome.event_id is not None:
        result["event_id"] = str(outcome.event_id)
    return result


async def _read_capped(request: Request) -> bytes:
    """The body, refused past the limit while reading: a missing or false Content-Length cannot bypass it."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, _TOO_LARGE)
    return bytes(body)


def submissions_router(admission: Callable[[], Admission], pool: Callable[[], Pool], token: str) -> APIRouter:
    router = APIRouter()

    def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
            raise HTTPException(
                401,
                {"error": "unauthorized", "detail": "a valid bearer token is required"},
                headers={"WWW-Authenticate": "Bearer"},
            )

    @router.post("/v1/submissions", dependencies=[Depends(authorised)], tags=["submissions"])
    async def post_submissions(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise HTTPException(413, _TOO_LARGE)
        body = await _read_capped(request)
        document = parse_json_document(body, max_bytes=MAX_BODY_BYTES)
        if isinstance(document, Rejection) or not isinstance(document, list):
            # One object (or an unreadable body): judged on the exact bytes received, so a rejection keeps
            # the sender's original and its digest.
            items = [Incoming(body)]
        else:
            if len(document) > MAX_ITEMS:
                raise HTTPException(
                    413, {"error": "too-many-items", "detail": f"at most {MAX_ITEMS} per request"}
                )
            # Items of an array are judged on their own bytes, re-serialised (a rejection's `original` is
            # then the item as re-encoded); the 64 KiB limit applies per item.
            items = [Incoming(json.dumps(v, ensure_ascii=False).encode()) for v in document]
        started = time.perf_counter()
        async with pool().acquire() as conn, conn.transaction():
            outcomes = await admission().admit(admission().store_on(conn), items)
        count_batch(SERVICE, ["http"] * len(items), report(outcomes), time.perf_counter() - started)
        return {"results": [_result(i, o) for i, o in enumerate(outcomes)]}

    return router
