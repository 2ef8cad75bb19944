"""HTTP metrics of every service: requests by method, route template and status; their latency.

Labels are bounded: the route is the template a request matched (`/schemas/{name}`, `/static/{path}`),
`unmatched` when none did; a method outside the standard ones is `other`.
"""

from __future__ import annotations

import time
from typing import Final

from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from amnesty_runtime.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS

UNMATCHED: Final = "unmatched"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def arrival(scope: Scope) -> Scope:
    """What routing needs of a request as it arrived (routing rewrites `root_path` on its way down)."""
    return {
        "type": scope["type"],
        "path": scope["path"],
        "root_path": scope.get("root_path", ""),
        "method": scope["method"],
    }


def route_of(scope: Scope, arrived: Scope) -> str:
    """The template of the route that took the request: FastAPI records its own routes in the scope; the
    app's plain routes and mounts (/openapi.json, static files) are matched again on the arrival."""
    route = scope.get("route") or _plain_route(scope.get("app"), arrived)
    if isinstance(route, Mount):
        return f"{route.path}/{{path}}"
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _plain_route(app: object, arrived: Scope) -> BaseRoute | None:
    for route in getattr(app, "routes", ()):
        if isinstance(route, Route | Mount) and route.matches(arrived)[0] is not Match.NONE:
            return route
    return None


CLIENT_GONE: Final = "amnesty.client_gone"
"""Set in a request's scope when its client went before it could be answered (``UnhandledErrors``)."""

CLIENT_CLOSED_REQUEST: Final = 499
"""The status counted for a request whose client went before its answer (nginx's convention): no
answer was sent, and the service did not fail."""


class HttpMetrics:
    """ASGI middleware counting and timing every HTTP request of a service."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = arrival(scope)
        status = 500  # what the client gets if the app fails before answering

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, recording)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = route_of(scope, arrived)
            if scope.get(CLIENT_GONE):
                status = CLIENT_CLOSED_REQUEST
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            HTTP_REQUEST_SECONDS.labels(self.service, method, route).observe(time.perf_counter() - started)
