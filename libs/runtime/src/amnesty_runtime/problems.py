"""RFC 9457 problem details: the one shape of every 4xx and 5xx answer of every service.

``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``, ``instance`` and, when the
request itself is at fault, ``errors``: ``[{"parameter": "from", "message": "..."}]`` (``field`` instead of
``parameter`` for a place in the body). ``type`` is ``about:blank`` when the status says it all, else a
URN naming the problem (``urn:amnesty-events:problem:invalid-parameter``).

An unhandled exception becomes a 500 problem that says nothing of the exception; the log gets its type and
its frames but not its message, which may quote the data (a submission, a tax or case number).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from amnesty_runtime.http_metrics import CLIENT_GONE, arrival, route_of
from amnesty_runtime.metrics import HTTP_UNHANDLED_ERRORS

PROBLEM_JSON: Final = "application/problem+json"
_PROBLEM_URN: Final = "urn:amnesty-events:problem:"
# Where FastAPI's request validation can fail on something the client named as a parameter.
_PARAMETER_PLACES: Final = frozenset({"query", "path", "header", "cookie"})

log = structlog.get_logger(__name__)


class InvalidInput(BaseModel):
    """One thing wrong with a request: the parameter or the body field, and why."""

    parameter: str | None = Field(default=None, description="The query, path or header parameter at fault.")
    field: str | None = Field(default=None, description="The body field at fault, as a dotted path.")
    message: str


class Problem(BaseModel):
    """An error answer (RFC 9457)."""

    type: str = Field(
        default="about:blank", description="What kind of problem: a URI, `about:blank` if none."
    )
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(default=None, description="What went wrong this time, for a human.")
    instance: str | None = Field(default=None, description="The path of the request that had the problem.")
    errors: list[InvalidInput] | None = Field(default=None, description="What in the request is wrong.")


def problem_type(code: str) -> str:
    """The ``type`` URI of a problem this project names, e.g. ``invalid-parameter``."""
    return _PROBLEM_URN + code


class ProblemError(Exception):
    """Raised by a route to answer with a problem document (rendered by the service's handlers)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        errors: Sequence[InvalidInput] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.errors = list(errors)
        self.headers = dict(headers or {})


def invalid_parameter(parameter: str, message: str, code: str = "invalid-parameter") -> ProblemError:
    """A 400 naming the query parameter that cannot be answered."""
    return ProblemError(
        400,
        f"{parameter}: {message}",
        code=code,
        errors=[InvalidInput(parameter=parameter, message=message)],
    )


def problem_response(
    status: int,
    request: Request | None = None,
    *,
    detail: str | None = None,
    code: str | None = None,
    errors: Sequence[InvalidInput] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=problem_type(code) if code else "about:blank",
        title=_title(status, code),
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        errors=list(errors) or None,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def problem_openapi(description: str) -> dict[str, Any]:
    """An OpenAPI response entry for a problem (``responses={401: problem_openapi("...")}``)."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


def answer_problems(app: FastAPI, service: str) -> None:
    """Every error of ``app`` as a problem document: raised ones, FastAPI's and Starlette's, and crashes."""
    app.add_exception_handler(ProblemError, _raised)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(UnhandledErrors, service=service)


async def _raised(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status, request, detail=exc.detail, code=exc.code, errors=exc.errors, headers=exc.headers
    )


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    # Starlette's own detail is the status phrase again (404, 405): no news for the reader. A structured
    # detail has no place in a problem: raise a ProblemError for that.
    detail = (
        exc.detail if isinstance(exc.detail, str) and exc.detail != _title(exc.status_code, None) else None
    )
    return problem_response(exc.status_code, request, detail=detail, headers=exc.headers)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's validation failures: a parameter is a 400 naming it; the body, a 422 naming the field."""
    assert isinstance(exc, RequestValidationError)
    errors: list[InvalidInput] = []
    for error in exc.errors():
        place, *where = [str(part) for part in error.get("loc", ("request",))]
        message = str(error.get("msg", "invalid"))  # never error["input"]: it may be personal data
        if place in _PARAMETER_PLACES:
            errors.append(InvalidInput(parameter=where[-1] if where else place, message=message))
        else:
            errors.append(InvalidInput(field=".".join(where) or place, message=message))
    in_body = any(e.field is not None for e in errors)
    named = ", ".join(str(e.parameter or e.field) for e in errors)
    code = "invalid-body" if in_body else "invalid-parameter"
    return problem_response(
        422 if in_body else 400, request, detail=f"invalid: {named}", code=code, errors=errors
    )


def _title(status: int, code: str | None) -> str:
    if code is not None:
        return code.replace("-", " ").capitalize()
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


class UnhandledErrors:
    """ASGI middleware: an exception no handler took becomes a JSON 500, logged without its message.

    It sits inside Starlette's ServerErrorMiddleware so that the exception stops here: that one would
    answer in plain text and re-raise it for uvicorn to log, message and all.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = arrival(scope)
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except ClientDisconnect:
            # The client went while its body was read: nobody to answer, and nothing failed here.
            scope[CLIENT_GONE] = True
            log.info("client-disconnected", method=scope["method"], route=route_of(scope, arrived))
        except Exception as exc:  # the last stop for every exception of a request
            route = route_of(scope, arrived)
            HTTP_UNHANDLED_ERRORS.labels(self.service, route, type(exc).__name__).inc()
            log.error(
                "unhandled-error",
                method=scope["method"],
                route=route,
                error=type(exc).__name__,
                frames=_frames(exc),
                response_started=started,
            )
            if started:  # too late for another answer: the client sees the connection end
                return
            response = problem_response(
                500,
                Request(scope),
                detail="The service failed to answer this request; the failure is logged.",
            )
            await response(scope, receive, send)


def _frames(exc: BaseException) -> str:
    """Where the exception (and what caused it) came from, as file, line, function and source line."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 5:
        frames = "".join(traceback.format_list(traceback.extract_tb(seen.__traceback__)))
        parts.append(f"{type(seen).__module__}.{type(seen).__qualname__}\n{frames}")
        seen = seen.__cause__ or seen.__context__
    return "\nwhich was raised while handling\n".join(parts)
