"""Migrations: applied once and recorded, serialised across migrators, applied files immutable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from amnesty_eventstore import (
    EVENTSTORE_MIGRATIONS,
    MigrationChecksumError,
    MigrationOrderError,
    MigrationSource,
    create_pool,
    migrate,
)
from amnesty_runtime.stack import Endpoints

pytestmark = pytest.mark.integration


@pytest.fixture
def service_migrations(tmp_path: Path) -> MigrationSource:
    (tmp_path / "0001_cases.sql").write_text(
        "CREATE TABLE cases (person text PRIMARY KEY, opened int NOT NULL DEFAULT 0);\n"
        # Builds on the event store's tables, applied before.
        "CREATE VIEW case_events AS SELECT stream_id, count(*) AS n FROM events GROUP BY stream_id;\n"
    )
    (tmp_path / "README.md").write_text("not a migration")
    return MigrationSource("intake", tmp_path)


async def applied(conn: asyncpg.Connection, schema: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        f'SELECT component, name FROM "{schema}".schema_migrations ORDER BY applied_at, name'
    )
    return [(r[0], r[1]) for r in rows]


async def test_migrating_twice_applies_each_file_once(
    endpoints: Endpoints, schema: str, service_migrations: MigrationSource
) -> None:
    conn = await asyncpg.connect(endpoints.database_url("intake"))
    try:
        first = await migrate(conn, schema, [EVENTSTORE_MIGRATIONS, service_migrations])
        second = await migrate(conn, schema, [EVENTSTORE_MIGRATIONS, service_migrations])
        assert second == []
        store_files = [m.name for m in EVENTSTORE_MIGRATIONS.migrations()]
        assert [(m.component, m.name) for m in first] == [
            *(("eventstore", name) for name in store_files),
            ("intake", "0001_cases.sql"),
        ]
        assert await applied(conn, schema) == [(m.component, m.name) for m in first]
        assert await conn.fetchval(f'SELECT count(*) FROM "{schema}".case_events') == 0
        # The latest append_events is the one installed (0003 replaces 0001's).
        config = await conn.fetchval(
            "SELECT proconfig FROM pg_proc "
            "WHERE proname = 'append_events' AND pronamespace = $1::regnamespace",
            schema,
        )
        assert "enable_seqscan=off" in config
    finally:
        await conn.close()


async def test_concurrent_migrators_apply_once(endpoints: Endpoints, schema: str) -> None:
    pools = [await create_pool(endpoints.database_url("intake"), min_size=1, max_size=1) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(p, schema) for p in pools))
        assert sorted(len(r) for r in results) == [0, 0, 0, len(EVENTSTORE_MIGRATIONS.migrations())]
    finally:
        for p in pools:
            await p.close()


async def test_a_migrator_waits_out_another_longer_than_its_statement_timeout(
    endpoints: Endpoints, schema: str
) -> None:
    """A replica starting beside one that migrates a large table waits for it, however long: cut off
    by the pool's statement timeout (30 s), it failed to start."""
    holder = await asyncpg.connect(endpoints.database_url("intake"))
    pool = await create_pool(
        endpoints.database_url("intake"), min_size=1, max_size=1, statement_timeout_s=0.5
    )
    try:
        assert len(await migrate(holder, schema)) == len(EVENTSTORE_MIGRATIONS.migrations())
        migrating = holder.transaction()  # another process's migrations, running long
        await migrating.start()
        await holder.execute(f'LOCK TABLE "{schema}".schema_migrations IN SHARE ROW EXCLUSIVE MODE')
        waiting = asyncio.create_task(migrate(pool, schema))
        await asyncio.sleep(1.5)
        assert not waiting.done()
        await migrating.commit()
        assert await waiting == []
        # The session's own timeout is back for the store's queries.
        assert await pool.fetchval("SHOW statement_timeout") == "500ms"
    finally:
        await holder.close()
        await pool.close()


async def test_a_migrator_is_not_held_off_by_another_role_holding_the_old_advisory_key(
    endpoints: Endpoints, schema: str
) -> None:
    """An advisory lock is one namespace for the whole database: any role that can connect (another
    service's, Grafana's) could take the key the migrators once waited on and hold a service's start."""
    intruder = await asyncpg.connect(endpoints.database_url("eligibility"))
    service = await asyncpg.connect(endpoints.database_url("intake"))
    try:
        assert await intruder.fetchval(
            "SELECT pg_try_advisory_lock(hashtext('amnesty_eventstore.migrate'), hashtext($1))", schema
        )
        applied = await asyncio.wait_for(migrate(service, schema), 20)
        assert len(applied) == len(EVENTSTORE_MIGRATIONS.migrations())
    finally:
        await intruder.close()
        await service.close()


async def test_a_changed_applied_migration_is_refused(
    endpoints: Endpoints, schema: str, service_migrations: MigrationSource, tmp_path: Path
) -> None:
    conn = await asyncpg.connect(endpoints.database_url("intake"))
    try:
        await migrate(conn, schema, [EVENTSTORE_MIGRATIONS, service_migrations])
        (tmp_path / "0001_cases.sql").write_text("CREATE TABLE cases (person text PRIMARY KEY);\n")
        (tmp_path / "0002_more.sql").write_text("CREATE TABLE more (id int);\n")
        with pytest.raises(MigrationChecksumError, match=r"intake/0001_cases\.sql changed"):
            await migrate(conn, schema, [EVENTSTORE_MIGRATIONS, service_migrations])
        # Refused before anything else was applied.
        assert await conn.fetchval("SELECT to_regclass($1)", f"{schema}.more") is None
    finally:
        await conn.close()


async def test_a_new_migration_sorting_before_an_applied_one_is_refused(
    endpoints: Endpoints, schema: str, tmp_path: Path
) -> None:
    (tmp_path / "0002_second.sql").write_text("CREATE TABLE second (id int);\n")
    source = MigrationSource("intake", tmp_path)
    conn = await asyncpg.connect(endpoints.database_url("intake"))
    try:
        await migrate(conn, schema, [source])
        (tmp_path / "0001_first.sql").write_text("CREATE TABLE first (id int);\n")
        with pytest.raises(MigrationOrderError):
            await migrate(conn, schema, [source])
    finally:
        await conn.close()


async def test_a_failing_migration_is_not_recorded_and_its_work_is_rolled_back(
    endpoints: Endpoints, schema: str, tmp_path: Path
) -> None:
    (tmp_path / "0001_broken.sql").write_text("CREATE TABLE half (id int);\nSELECT no_such_function();\n")
    conn = await asyncpg.connect(endpoints.database_url("intake"))
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(conn, schema, [MigrationSource("intake", tmp_path)])
        assert await applied(conn, schema) == []
        assert await conn.fetchval("SELECT to_regclass($1)", f"{schema}.half") is None
        # The lock was released: another migrator is not blocked.
        (tmp_path / "0001_broken.sql").write_text("CREATE TABLE half (id int);\n")
        assert len(await migrate(conn, schema, [MigrationSource("intake", tmp_path)])) == 1
    finally:
        await conn.close()
