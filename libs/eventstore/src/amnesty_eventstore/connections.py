"""Connections the store uses: a pool with guard rails, and the connection type every function takes."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# asyncpg's classes are generic in its stubs only.
if TYPE_CHECKING:
    DbConnection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
    PooledConnection: TypeAlias = PoolConnectionProxy[asyncpg.Record]
else:
    DbConnection = asyncpg.Connection | PoolConnectionProxy
    Pool = asyncpg.Pool
    PooledConnection = PoolConnectionProxy


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    statement_timeout_s: float = 30.0,
    idle_in_transaction_timeout_s: float = 60.0,
    application_name: str = "amnesty-eventstore",
) -> Pool:
    """A pool whose sessions cannot hold a transaction open for long.

    An open transaction that has written holds back the horizon every reader of all events stops at,
    so a stuck statement or a forgotten transaction is ended by the server rather than stalling them.
    JIT is off: its compile time costs more than it saves on the store's short statements.

    A released connection goes back as its last transaction left it (asyncpg rolls back one left open):
    the default reset also runs RESET ALL, UNLISTEN, CLOSE ALL and an advisory unlock, a round trip on
    every release, that is on every consumed batch. Nothing here leaves session state past its lease:
    settings are ``SET LOCAL``, cursors live in transactions, and the holders of session locks and
    listeners (migrations, the rebuild lock, the relay's leader) undo them or terminate the connection.
    """
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={
            "application_name": application_name,
            "statement_timeout": f"{int(statement_timeout_s * 1000)}ms",
            "idle_in_transaction_session_timeout": f"{int(idle_in_transaction_timeout_s * 1000)}ms",
            "jit": "off",
        },
        reset=_nothing_to_reset,
    )
    assert pool is not None  # create_pool returns None only when awaited without init
    return pool


async def _nothing_to_reset(_conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """The pool's reset after asyncpg's own rollback of an open transaction: no round trip more."""
