"""The local PostgreSQL counts statements only when asked, and then keeps no password among them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from amnesty_runtime.settings import InfraSettings
from amnesty_runtime.stack.ports import free_port
from amnesty_runtime.stack.postgres import SUPERUSER, LocalPostgres
from amnesty_runtime.stack.processes import ProcessTable
from amnesty_runtime.stack.secrets import local_secret
from tests.support.stack_dirs import second_stack_dir

pytestmark = pytest.mark.integration


@pytest.fixture
def counting_postgres() -> Iterator[tuple[LocalPostgres, str]]:
    """A second local PostgreSQL alone, started with AMNESTY_PG_STAT_STATEMENTS=true; its admin URL."""
    with second_stack_dir("pgss") as local:
        settings = InfraSettings(
            database_url=None, local_dir=local, pg_port=free_port(), pg_stat_statements=True
        )
        postgres = LocalPostgres(settings, ProcessTable(local / "stack.json"))
        postgres.start()
        password = local_secret(local / "secrets", "db-postgres.password")
        try:
            yield postgres, f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{postgres.port}/postgres"
        finally:
            postgres.stop()


async def test_when_asked_statements_are_counted_normalized_and_passwords_are_not_kept(
    counting_postgres: tuple[LocalPostgres, str],
) -> None:
    _, url = counting_postgres
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SHOW shared_preload_libraries") == "pg_stat_statements"
        await conn.execute("CREATE EXTENSION pg_stat_statements")
        secret = f"kept-nowhere-{uuid.uuid4().hex}"
        await conn.execute(f"CREATE ROLE probe LOGIN PASSWORD '{secret}'")
        await conn.execute("SELECT 424242 AS probe")
        texts = [r["query"] for r in await conn.fetch("SELECT query FROM pg_stat_statements")]
    finally:
        await conn.close()
    assert "SELECT $1 AS probe" in texts
    assert [t for t in texts if secret in t or "424242" in t] == []
