"""Each test gets a schema of its own (other tests share the server), owned by a service role.

The schema is created by the superuser and handed to the `intake` role, which then does everything:
so the store is exercised as a service runs it, without superuser rights, and with a search_path that
points elsewhere (the role's own schema), which proves every statement names its schema.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from amnesty_eventstore import (
    EVENTSTORE_MIGRATIONS,
    EventStore,
    MigrationSource,
    Pool,
    create_pool,
    migrate,
)
from amnesty_runtime.stack import Endpoints

ROLE = "intake"


@pytest.fixture
async def admin(endpoints: Endpoints) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(endpoints.admin_database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def schema(admin: asyncpg.Connection) -> AsyncIterator[str]:
    name = f"es_test_{uuid.uuid4().hex}"
    await admin.execute(f'CREATE SCHEMA "{name}" AUTHORIZATION "{ROLE}"')
    yield name
    await admin.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
async def pool(endpoints: Endpoints, schema: str) -> AsyncIterator[Pool]:
    pool = await create_pool(endpoints.database_url(ROLE), min_size=1, max_size=24)
    await migrate(pool, schema)
    yield pool
    await pool.close()


@pytest.fixture
async def store(pool: Pool, schema: str) -> AsyncIterator[EventStore]:
    async with EventStore(pool, schema) as store:
        yield store


@contextlib.asynccontextmanager
async def schema_before(
    admin: asyncpg.Connection, pool: Pool, tmp_path: Path, migration: str
) -> AsyncIterator[str]:
    """A schema of its own with the event store's migrations before ``migration`` only: the store as
    an earlier release left it."""
    name = f"es_test_{uuid.uuid4().hex}"
    for earlier in EVENTSTORE_MIGRATIONS.migrations():
        if earlier.name < migration:
            (tmp_path / earlier.name).write_text(earlier.sql, encoding="utf-8")
    await admin.execute(f'CREATE SCHEMA "{name}" AUTHORIZATION "{ROLE}"')
    try:
        await migrate(pool, name, [MigrationSource("eventstore", tmp_path)])
        yield name
    finally:
        await admin.execute(f'DROP SCHEMA "{name}" CASCADE')
