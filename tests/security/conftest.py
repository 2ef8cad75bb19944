"""The security suite runs against the real local stack: its processes, files and logins, as they are."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import asyncpg
import psutil
import pytest

from amnesty_runtime.stack import Endpoints, Stack

ConnectAs = Callable[..., AbstractAsyncContextManager[asyncpg.Connection]]
"""``connect_as(role, database=None)``."""


@pytest.fixture(scope="session")
def local_stack(stack: Stack) -> Stack:
    """The local stack; the suite checks what it starts and writes, so given infrastructure is skipped."""
    if not (stack.endpoints.local_postgres and stack.endpoints.local_kafka):
        pytest.skip("checks the local stack's processes and files; the infrastructure here is given")
    return stack


@pytest.fixture(scope="session")
def connect_as(local_stack: Stack) -> ConnectAs:
    """A connection logged in as a role of the local stack: a service's, or "grafana"."""
    endpoints: Endpoints = local_stack.endpoints

    @asynccontextmanager
    async def connect(role: str, database: str | None = None) -> AsyncIterator[asyncpg.Connection]:
        url = endpoints.reader_url(role) if role == "grafana" else endpoints.database_url(role)
        if database is not None:
            url = url.rsplit("/", 1)[0] + f"/{database}"
        conn = await asyncpg.connect(url)
        try:
            yield conn
        finally:
            await conn.close()

    return connect


def process_of(stack: Stack, name: str) -> psutil.Process:
    record = stack.table.get(name)
    assert record is not None, f"the stack did not start {name}"
    process = record.process()
    assert process is not None, f"{name} is not running"
    return process


def umask_of(process: psutil.Process) -> int:
    """The process's umask, from /proc (Linux)."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    raise AssertionError(f"no Umask in /proc/{process.pid}/status")


def loose_paths(root: Path) -> list[str]:
    """Paths under ``root`` (itself included) that anyone but their owner may read, write or enter."""
    found = []
    for directory, _, files in os.walk(root):
        for path in (Path(directory), *(Path(directory) / name for name in files)):
            try:
                mode = path.lstat().st_mode
            except FileNotFoundError:
                continue  # gone since it was listed: a running broker renames its .tmp checkpoints
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(f"{path} {oct(mode & 0o777)}")
    return found
