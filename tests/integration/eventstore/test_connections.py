"""The store's pool hands a connection back without a reset round trip, and never with a transaction open."""

from __future__ import annotations

import asyncpg
import pytest

from amnesty_eventstore import Pool

pytestmark = pytest.mark.integration


async def test_a_released_connection_runs_no_reset_statement(pool: Pool, admin: asyncpg.Connection) -> None:
    async with pool.acquire() as conn:
        backend = await conn.fetchval("SELECT pg_backend_pid() /* the last statement of this lease */")
    # The default reset (RESET ALL, UNLISTEN *, …) would be the session's last statement by now.
    last = await admin.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", backend)
    assert last == "SELECT pg_backend_pid() /* the last statement of this lease */"


async def test_a_transaction_left_open_is_rolled_back_on_release(pool: Pool, schema: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute(f'CREATE TABLE "{schema}".t (n int)')
        left_open = conn.transaction()
        await left_open.start()
        await conn.execute(f'INSERT INTO "{schema}".t VALUES (1)')
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT pg_current_xact_id_if_assigned()") is None, "no transaction"
        assert await conn.fetchval(f'SELECT count(*) FROM "{schema}".t') == 0
