"""A TCP proxy a test owns, to cut a service off from Kafka or PostgreSQL and let it back in.

Cut, it behaves as a network partition does, not as a refused connection: bytes on open connections go
nowhere and new connections are accepted but never answered, so clients wait on their own timeouts.
Healed, the connections held during the cut are closed (their streams lost bytes, as a partition's TCP
connections end in a reset or a timeout) and new ones are relayed again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from amnesty_runtime.stack.ports import free_port

LOOPBACK = "127.0.0.1"
_CHUNK = 64 * 1024


@dataclass
class TcpProxy:
    """Relays 127.0.0.1:``port`` to 127.0.0.1:``target_port`` while not cut."""

    target_port: int
    port: int = field(default_factory=free_port)
    cut_off: bool = field(default=False, init=False)
    cuts: int = field(default=0, init=False)
    _server: asyncio.Server | None = field(default=None, init=False)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set, init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._close_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def cut(self) -> None:
        """From now on nothing passes, in either direction, on old or new connections."""
        self.cut_off = True
        self.cuts += 1

    def heal(self) -> None:
        """End the connections that lived through the cut; relay new ones again."""
        self.cut_off = False
        self._close_all()

    def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._writers.add(client_writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            if self.cut_off:
                await _swallow(client_reader)  # accepted, never answered: a blackhole
                return
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(LOOPBACK, self.target_port)
            except OSError:
                return  # the target is down (a broker being restarted): the client sees the connection end
            self._writers.add(upstream_writer)
            await asyncio.gather(
                self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer)
            )
        finally:
            self._tasks.discard(task)
            for writer in (client_writer, upstream_writer):
                if writer is not None:
                    self._writers.discard(writer)
                    writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(_CHUNK):
                if self.cut_off:
                    continue  # dropped on the floor, as by a dead link
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()


async def _swallow(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while await reader.read(_CHUNK):
            pass


@asynccontextmanager
async def tcp_proxy(target_port: int, port: int | None = None) -> AsyncIterator[TcpProxy]:
    """A running proxy to ``target_port`` (on ``port``, or a free one), stopped afterwards."""
    proxy = TcpProxy(target_port) if port is None else TcpProxy(target_port, port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
