"""What every service serves besides its own work, over one FastAPI app.

/healthz, /readyz and /metrics; errors as RFC 9457 problems (amnesty_runtime.problems); HTTP metrics
(amnesty_runtime.http_metrics); the OpenAPI document with Swagger UI served from local files
(amnesty_runtime.api_docs); each request named in the log by its correlation id.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from pydantic import BaseModel, Field

from amnesty_runtime.api_docs import document_problems, serve_docs
from amnesty_runtime.http_metrics import HttpMetrics
from amnesty_runtime.logs import message_context
from amnesty_runtime.problems import answer_problems

log = structlog.get_logger(__name__)


class Health(BaseModel):
    """The process is alive (it says nothing of its dependencies: see /readyz)."""

    status: Literal["ok"]
    service: str


class Readiness(BaseModel):
    """Whether the service should get traffic, and what fails when it should not."""

    status: Literal["ready", "not-ready"]
    service: str
    failing: dict[str, str] = Field(description="Each failing check by name, with why it fails.")


@dataclass(frozen=True)
class ReadinessCheck:
    """One condition for serving traffic, e.g. "database reachable"; returns None when fine, else why not."""

    name: str
    probe: Callable[[], Awaitable[str | None]]
    timeout_s: float = 2.0


async def _run(check: ReadinessCheck) -> str | None:
    try:
        return await asyncio.wait_for(check.probe(), check.timeout_s)
    except TimeoutError:
        return f"no answer within {check.timeout_s:.0f}s"
    except Exception as exc:  # a readiness probe reports failures, it never raises them
        # /readyz answers anyone who can reach the port: the exception's text (addresses, role and
        # database names) goes to the service's log only.
        log.warning("readiness check failed", check=check.name, error=type(exc).__name__, detail=str(exc))
        return f"{type(exc).__name__} (the service's log has the detail)"


def service_app(
    name: str,
    *,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]] | None = None,
    readiness: Sequence[ReadinessCheck] = (),
    registry: CollectorRegistry = REGISTRY,
) -> FastAPI:
    """A FastAPI app with the three operational endpoints every service of the contract has, answering
    errors as problems, counting its requests, documented at /docs."""
    app = FastAPI(
        title=f"amnesty-events {name}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    answer_problems(app, name)
    app.add_middleware(RequestLogContext)
    app.add_middleware(HttpMetrics, service=name)  # outermost: it sees the 500s the inner layer writes
    app.openapi = document_problems(app)  # type: ignore[method-assign]
    serve_docs(app)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> Health:
        return Health(status="ok", service=name)

    @app.get(
        "/readyz",
        tags=["operations"],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready: `failing` says why."}},
    )
    async def readyz() -> JSONResponse:
        results = dict(
            zip([c.name for c in readiness], await asyncio.gather(*map(_run, readiness)), strict=True)
        )
        failing = {k: v for k, v in results.items() if v is not None}
        body = {"status": "not-ready" if failing else "ready", "service": name, "failing": failing}
        return JSONResponse(body, status_code=503 if failing else 200)

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={
            200: {
                "description": "The Prometheus text exposition format.",
                "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
            }
        },
    )
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_Asgi = Callable[[_Message, _Receive, _Send], Awaitable[None]]

CORRELATION_HEADER = "x-correlation-id"
"""The header a client may name its correlation id in; every answer carries the one used."""

# What a client may send as its correlation id: it is written into every line the request logs.
_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestLogContext:
    """Binds a correlation id (the client's X-Correlation-ID, else a new one) and the request's own id
    (as the cause) to every line logged while an HTTP request is handled, and answers with the former.

    Plain ASGI rather than Starlette's BaseHTTPMiddleware, which would buffer the live page's stream.
    """

    def __init__(self, app: _Asgi) -> None:
        self._app = app

    async def __call__(self, scope: _Message, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        correlation_id = given if _CORRELATION_ID.fullmatch(given) else str(uuid.uuid4())

        async def answer(message: _Message) -> None:
            if message["type"] == "http.response.start":
                header = (CORRELATION_HEADER.encode(), correlation_id.encode())
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        with message_context(correlation_id=correlation_id, causation_id=str(uuid.uuid4())):
            await self._app(scope, receive, answer)


def database_ready(ping: Callable[[], Awaitable[object]]) -> ReadinessCheck:
    """Readiness: the service's database answers a query."""

    async def probe() -> str | None:
        await ping()
        return None

    return ReadinessCheck("database", probe)


def kafka_ready(ping: Callable[[float], Awaitable[bool]]) -> ReadinessCheck:
    """Readiness: the broker answers (FastStream's `broker.ping`)."""

    async def probe() -> str | None:
        return None if await ping(1.5) else "broker unreachable"

    return ReadinessCheck("kafka", probe)
