"""The services' HTTP server: uvicorn with limits, so a slow or greedy client cannot hold it.

uvicorn bounds idle keep-alive connections and, with ``limit_concurrency``, answers 503 past a number
of connections, but it waits for a request's head (request line and headers) for ever: a client that
sends half a header and then a byte a minute keeps its connection, and enough of them exhaust the
limit. ``HeadDeadlineProtocol`` closes a connection whose next request head is not complete in time.
A slow body is cut by the route that reads it (intake answers 408), since only the route knows how
much it expects.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """The limits of one service's HTTP server (its settings give them)."""

    concurrency: int = 200
    """Connections and requests at once; uvicorn answers 503 past it."""
    keep_alive_s: float = 5.0
    """How long an idle keep-alive connection stays open."""
    request_head_s: float = 10.0
    """How long a client has to send a request's line and headers, from its first byte or connection."""


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose next request head is late.

    A deadline is armed when a connection opens and when data arrives while no request is in progress
    (after the last response); it is void once a new request cycle has started.
    """

    request_head_s: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        if self.cycle is not None and self.cycle.response_complete:
            self._arm_head_deadline()
        super().data_received(data)

    def _arm_head_deadline(self) -> None:
        awaited_after = self.cycle
        if getattr(self, "_head_deadline_after", object()) is awaited_after:
            return  # already armed for this wait
        self._head_deadline_after = awaited_after

        def expire() -> None:
            if self.cycle is awaited_after and not self.transport.is_closing():
                self.transport.close()

        self.loop.call_later(self.request_head_s, expire)


def serve(app: FastAPI, host: str, port: int, limits: ServerLimits | None = None) -> None:
    """Run the app until SIGTERM/SIGINT, within ``limits``; uvicorn then runs the lifespan's shutdown."""
    limits = limits or ServerLimits()
    protocol = type("ServiceHttpProtocol", (HeadDeadlineProtocol,), {"request_head_s": limits.request_head_s})
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        http=protocol,
        # uvloop, named rather than "auto": a missing install fails the start instead of quietly
        # running on asyncio's slower loop.
        loop="uvloop",
        limit_concurrency=limits.concurrency,
        timeout_keep_alive=int(max(1, limits.keep_alive_s)),
    )
