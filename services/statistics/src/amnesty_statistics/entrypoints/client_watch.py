"""Answering an API request only while its client still waits for the answer.

A client that gives up (a closed tab, a proxy timeout, a script's Ctrl-C) leaves its query running
until the statement timeout, holding an API connection for nothing; a few such clients and the API
pool is full. The query runs as a task watched beside the connection: when the client goes away the
task is cancelled, and asyncpg cancels the statement on the server. A statement that outruns the API
pool's statement timeout is answered 503, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

import asyncpg
from fastapi import Request

from amnesty_runtime.problems import ProblemError

T = TypeVar("T")


class ClientGoneError(Exception):
    """The client closed its connection before the answer was ready: there is no one to answer."""


async def answer_while_connected(request: Request, work: Awaitable[T], poll_s: float) -> T:
    """``work``'s result, or ClientGoneError once the client has disconnected (``work`` is cancelled)."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=poll_s)
            if done:
                return task.result()
            if await request.is_disconnected():
                raise ClientGoneError
    except asyncpg.QueryCanceledError:
        raise ProblemError(
            503,
            "the query took longer than the API allows; ask for a shorter range",
            code="query-timeout",
            headers={"Retry-After": "5"},
        ) from None
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
