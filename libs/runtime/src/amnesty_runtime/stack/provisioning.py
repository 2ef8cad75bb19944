"""One schema and one login role per service, in the project's database.

Each service owns its schema and can use no other: the database-level rule behind "nobody reads another
service's tables". Idempotent: run at every `stack up`, against the local or an existing server.
"""

from __future__ import annotations

import asyncpg

from amnesty_runtime.settings import DATABASE_NAME


async def ensure_database(maintenance_url: str, name: str = DATABASE_NAME) -> bool:
    """Create the database when missing (needs CREATEDB); True when created."""
    conn = await asyncpg.connect(maintenance_url)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
        return True
    finally:
        await conn.close()


async def ensure_service_roles(admin_url: str, passwords: dict[str, str]) -> None:
    """Create or update each service's role and schema, and close every other door."""
    conn = await asyncpg.connect(admin_url)
    try:
        database = await conn.fetchval("SELECT current_database()")
        async with conn.transaction():
            # Serialise concurrent provisioners (two `stack up` at once) on one advisory lock.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('amnesty-provisioning'))")
            await conn.execute(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')
            # Nobody but the superuser logs in to the maintenance databases either.
            await conn.execute("REVOKE CONNECT ON DATABASE postgres, template1 FROM PUBLIC")
            await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            for role, password in passwords.items():
                exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
                verb = "ALTER" if exists else "CREATE"
                # Utility statements take no bind parameters; quote_literal does the escaping.
                literal = await conn.fetchval("SELECT quote_literal($1::text)", password)
                await conn.execute(
                    f'{verb} ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {literal}'
                )
                await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{role}"')
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{role}" AUTHORIZATION "{role}"')
                await conn.execute(f'REVOKE ALL ON SCHEMA "{role}" FROM PUBLIC')
                await conn.execute(f'ALTER ROLE "{role}" IN DATABASE "{database}" SET search_path = "{role}"')
    finally:
        await conn.close()


DASHBOARD_VIEWS: tuple[str, ...] = (
    "dashboard_daily_figures",
    "dashboard_daily_stats",
    "dashboard_region_names",
)
"""The statistics views the dashboards query (created by statistics' migrations): all Grafana may read."""


async def ensure_dashboard_reader(
    admin_url: str, role: str, password: str, schema: str = "statistics"
) -> None:
    """Create or update the read-only login of the dashboards: SELECT on the dashboard views of
    ``schema`` and nothing else (no read model table, no ``persons_vN``)."""
    conn = await asyncpg.connect(admin_url)
    try:
        database = await conn.fetchval("SELECT current_database()")
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('amnesty-provisioning'))")
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            literal = await conn.fetchval("SELECT quote_literal($1::text)", password)
            await conn.execute(
                f'{"ALTER" if exists else "CREATE"} ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                f"PASSWORD {literal}"
            )
            await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
            for setting in ("default_transaction_read_only = on", "statement_timeout = '30s'"):
                await conn.execute(f'ALTER ROLE "{role}" IN DATABASE "{database}" SET {setting}')
            if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
                return
            await conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
            # Grants an earlier version gave on every table of the schema are taken back.
            await conn.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM "{role}"')
            await conn.execute(
                f'ALTER DEFAULT PRIVILEGES FOR ROLE "{schema}" IN SCHEMA "{schema}" '
                f'REVOKE ALL ON TABLES FROM "{role}"'
            )
            views = await conn.fetch(
                "SELECT viewname FROM pg_views WHERE schemaname = $1 AND viewname = ANY($2::text[])",
                schema,
                list(DASHBOARD_VIEWS),
            )
            for view in views:
                await conn.execute(f'GRANT SELECT ON "{schema}"."{view["viewname"]}" TO "{role}"')
    finally:
        await conn.close()
