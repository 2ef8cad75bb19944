"""The HTTP door: POST /v1/submissions, one object or an array, answered item by item."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from amnesty_contracts import MAX_MESSAGE_BYTES, Rejection, parse_json_document
from amnesty_eventstore import Pool
from amnesty_intake.service_layer.admission import Admission, Incoming, Outcome

MAX_ITEMS = 1000
MAX_BODY_BYTES = MAX_ITEMS * MAX_MESSAGE_BYTES

_bearer = HTTPBearer(auto_error=False)


def _result(index: int, outcome: Outcome) -> dict[str, Any]:
    result: dict[str, Any] = {"index": index, "status": str(outcome.verdict)}
    if outcome.reason is not None:
        result |= {"reason": outcome.reason, "detail": outcome.detail}
    if outcome.event_id is not None:
        result["event_id"] = str(outcome.event_id)
    return result


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
        body = await request.body()
        document = parse_json_document(body, max_bytes=MAX_BODY_BYTES)
        if isinstance(document, Rejection):
            # The whole body is unreadable: one item, rejected (and dead-lettered) with the reason.
            items = [Incoming(body)]
        else:
            values = document if isinstance(document, list) else [document]
            if len(values) > MAX_ITEMS:
                raise HTTPException(
                    413, {"error": "too-many-items", "detail": f"at most {MAX_ITEMS} per request"}
                )
            # Each item is judged on its own bytes, re-serialised; the 64 KiB limit applies per item.
            items = [Incoming(json.dumps(v, ensure_ascii=False).encode()) for v in values]
        async with pool().acquire() as conn, conn.transaction():
            outcomes = await admission().admit(conn, items)
        return {"results": [_result(i, o) for i, o in enumerate(outcomes)]}

    return router
