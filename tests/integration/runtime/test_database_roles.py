"""Each service logs in as its own role, owns its schema, and is refused every other schema."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from amnesty_runtime.settings import SERVICES
from amnesty_runtime.stack import Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture
async def intake(endpoints: Endpoints) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(endpoints.database_url("intake"))
    yield conn
    await conn.close()


async def test_a_service_role_creates_and_reads_tables_in_its_own_schema(intake: asyncpg.Connection) -> None:
    table = f"probe_{uuid.uuid4().hex[:8]}"
    await intake.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
    try:
        await intake.execute(f"INSERT INTO {table} VALUES (1), (2)")
        assert await intake.fetchval(f"SELECT count(*) FROM intake.{table}") == 2
        assert await intake.fetchval("SELECT current_user") == "intake"
        assert await intake.fetchval("SELECT current_schema()") == "intake"
    finally:
        await intake.execute(f"DROP TABLE {table}")


async def test_a_service_role_is_refused_another_services_schema(
    endpoints: Endpoints, intake: asyncpg.Connection
) -> None:
    eligibility = await asyncpg.connect(endpoints.database_url("eligibility"))
    table = f"rules_{uuid.uuid4().hex[:8]}"
    try:
        await eligibility.execute(f"CREATE TABLE {table} (id int)")
        with pytest.raises(
            asyncpg.InsufficientPrivilegeError, match="permission denied for schema eligibility"
        ):
            await intake.fetch(f"SELECT * FROM eligibility.{table}")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await intake.execute(f"CREATE TABLE eligibility.{table}_x (id int)")
    finally:
        await eligibility.execute(f"DROP TABLE {table}")
        await eligibility.close()


async def test_no_service_can_create_objects_in_the_public_schema(intake: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await intake.execute("CREATE TABLE public.leak (id int)")


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_role_is_a_plain_login_role(endpoints: Endpoints, service: str) -> None:
    conn = await asyncpg.connect(endpoints.database_url(service))
    try:
        row = await conn.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        assert row is not None
        assert tuple(row) == (False, False, False)
    finally:
        await conn.close()
