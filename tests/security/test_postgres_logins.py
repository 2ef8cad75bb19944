"""PostgreSQL: password (SCRAM) logins over loopback only, no Unix socket, no role in the maintenance
databases, each service's role in its own schema alone, and Grafana's on the dashboard views alone."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from amnesty_eventstore import EVENTSTORE_MIGRATIONS, Pool, migrate
from amnesty_runtime.settings import SERVICES
from amnesty_runtime.stack import Stack
from amnesty_runtime.stack.provisioning import DASHBOARD_VIEWS
from amnesty_statistics.adapters.read_model import MIGRATIONS as STATISTICS_MIGRATIONS
from tests.security.conftest import ConnectAs
from tests.support import dashboards

pytestmark = pytest.mark.integration

ROLES = [*SERVICES, "grafana"]


async def test_the_only_login_is_scram_over_loopback(admin_pool: Pool) -> None:
    rules = await admin_pool.fetch("SELECT type, address, auth_method, error FROM pg_hba_file_rules")
    assert [tuple(r) for r in rules] == [("host", "127.0.0.1", "scram-sha-256", None)]
    assert await admin_pool.fetchval("SHOW password_encryption") == "scram-sha-256"
    stored = await admin_pool.fetch(
        "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1::text[])", [*ROLES, "postgres"]
    )
    assert {r["rolname"]: r["rolpassword"].split("$")[0] for r in stored} == dict.fromkeys(
        [*ROLES, "postgres"], "SCRAM-SHA-256"
    )


async def test_the_server_opens_no_unix_socket(local_stack: Stack, admin_pool: Pool) -> None:
    assert await admin_pool.fetchval("SHOW unix_socket_directories") == ""
    name = f".s.PGSQL.{local_stack.settings.pg_port}"
    places = [Path(tempfile.gettempdir()), Path("/var/run/postgresql"), local_stack.settings.local / "pg"]
    assert [place / name for place in places if (place / name).exists()] == []


@pytest.mark.parametrize("database", ["postgres", "template1"])
@pytest.mark.parametrize("role", ROLES)
async def test_no_role_may_connect_to_the_maintenance_databases(
    connect_as: ConnectAs, role: str, database: str
) -> None:
    with pytest.raises(
        asyncpg.InsufficientPrivilegeError, match=f'permission denied for database "{database}"'
    ):
        async with connect_as(role, database):
            pass


@pytest.mark.parametrize(
    ("role", "other"), [("intake", "eligibility"), ("eligibility", "statistics"), ("statistics", "intake")]
)
async def test_a_service_role_can_neither_read_nor_write_another_services_schema(
    connect_as: ConnectAs, admin_pool: Pool, role: str, other: str
) -> None:
    table = f"probe_{uuid.uuid4().hex[:8]}"
    await admin_pool.execute(f'CREATE TABLE "{other}"."{table}" (secret text)')
    await admin_pool.execute(f'ALTER TABLE "{other}"."{table}" OWNER TO "{other}"')
    try:
        async with connect_as(role) as conn:
            with pytest.raises(
                asyncpg.InsufficientPrivilegeError, match=f"permission denied for schema {other}"
            ):
                await conn.fetch(f'SELECT * FROM "{other}"."{table}"')
            with pytest.raises(
                asyncpg.InsufficientPrivilegeError, match=f"permission denied for schema {other}"
            ):
                await conn.execute(f'CREATE TABLE "{other}".planted (x int)')
            with pytest.raises(
                asyncpg.InsufficientPrivilegeError, match="permission denied for schema public"
            ):
                await conn.execute("CREATE TABLE public.planted (x int)")
    finally:
        await admin_pool.execute(f'DROP TABLE "{other}"."{table}"')


@pytest.fixture(scope="module")
async def statistics_migrated(connect_as: ConnectAs) -> None:
    """The statistics schema migrated by its own role, as the service does at start."""
    async with connect_as("statistics") as conn:
        await migrate(conn, "statistics", [EVENTSTORE_MIGRATIONS, STATISTICS_MIGRATIONS])
        # A projection version, so that its tables (persons_vN among them) exist to be refused.
        if not await conn.fetchval("SELECT count(*) FROM statistics.projection_versions"):
            await conn.fetchval("SELECT statistics.create_projection_version()")


async def test_grafana_may_read_the_dashboard_views_and_no_table(
    connect_as: ConnectAs, admin_pool: Pool, statistics_migrated: None
) -> None:
    tables = [
        r["tablename"]
        for r in await admin_pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'statistics'")
    ]
    assert any(t.startswith("persons_v") for t in tables)
    other_views = [
        r["viewname"]
        for r in await admin_pool.fetch("SELECT viewname FROM pg_views WHERE schemaname = 'statistics'")
        if r["viewname"] not in DASHBOARD_VIEWS
    ]
    async with connect_as("grafana") as conn:
        for view in DASHBOARD_VIEWS:
            await conn.fetch(f"SELECT * FROM statistics.{view} LIMIT 1")
        for relation in [*tables, *other_views]:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for"):
                await conn.fetch(f'SELECT * FROM statistics."{relation}" LIMIT 1')
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute("CREATE TEMPORARY TABLE planted (x int)")


async def test_every_dashboard_query_runs_as_grafana(
    connect_as: ConnectAs, statistics_migrated: None
) -> None:
    start, end = datetime(2022, 1, 1, tzinfo=UTC), datetime(2025, 10, 1, tzinfo=UTC)
    variables = {"period": "month", "region": ["UA-32"], "article": ["ordinary"]}
    queries = dashboards.queries(dashboards.POSTGRES_UID)
    assert queries
    async with connect_as("grafana") as conn:
        for query in queries:
            # Denied access would raise; an empty read model answers with no rows, which is fine here.
            await conn.fetch(
                dashboards.sql(query.text, schema="statistics", start=start, end=end, variables=variables)
            )
