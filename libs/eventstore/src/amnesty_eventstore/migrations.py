"""Schema migrations: plain SQL files, applied in name order, each once, recorded with its checksum.

A service migrates its own schema at start: the event store's files first, then its own
(``migrate(pool, "intake", [EVENTSTORE_MIGRATIONS, MigrationSource("intake", files(...) / "migrations")])``).
Files use unqualified names, with the search_path set to the schema; the pending ones run in one
transaction, all or none. An applied file may never change (its checksum is checked at every start)
and a new file may not sort before an applied one of its component. Concurrent migrators of one schema
wait on a lock of its table of applied migrations.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

import asyncpg

from amnesty_eventstore.connections import DbConnection, Pool
from amnesty_eventstore.errors import MigrationChecksumError, MigrationOrderError
from amnesty_eventstore.schemas import StoreSchema, store_schema


@dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file of a component (the event store, a service)."""

    component: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """A migration as recorded in the schema's ``schema_migrations`` table."""

    component: str
    name: str
    checksum: str


@dataclass(frozen=True, slots=True)
class MigrationSource:
    """The ``*.sql`` files of a folder or package resource directory, under a component name."""

    component: str
    location: Traversable

    def migrations(self) -> list[Migration]:
        """The files, in name order (so name them 0001_..., 0002_...)."""
        sql_files = sorted(
            (f for f in self.location.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name
        )
        return [Migration(self.component, f.name, f.read_text(encoding="utf-8")) for f in sql_files]


EVENTSTORE_MIGRATIONS = MigrationSource("eventstore", files("amnesty_eventstore") / "migrations")
"""The event store's own tables and functions; apply them first."""


def pending_migrations(
    available: Sequence[Migration], applied: Collection[AppliedMigration]
) -> list[Migration]:
    """The migrations still to apply, in order; refuses changed applied files and out-of-order new ones."""
    recorded = {(a.component, a.name): a for a in applied}
    latest: dict[str, str] = {}
    for a in applied:
        latest[a.component] = max(latest.get(a.component, a.name), a.name)
    pending = []
    for migration in available:
        done = recorded.get((migration.component, migration.name))
        if done is not None:
            if done.checksum != migration.checksum:
                raise MigrationChecksumError(
                    migration.component, migration.name, done.checksum, migration.checksum
                )
            continue
        newest = latest.get(migration.component)
        if newest is not None and migration.name < newest:
            raise MigrationOrderError(migration.component, migration.name, newest)
        pending.append(migration)
    return pending


async def migrate(
    target: DbConnection | Pool,
    schema: str,
    sources: Sequence[MigrationSource] = (EVENTSTORE_MIGRATIONS,),
) -> list[Migration]:
    """Apply the sources' pending migrations to ``schema`` (which must exist); returns those applied.

    Idempotent, and safe to run from several processes at once: the first applies, the others wait
    and find nothing to do.
    """
    if isinstance(target, asyncpg.Pool):
        async with target.acquire() as conn:
            return await _migrate(conn, schema, sources)
    return await _migrate(target, schema, sources)


async def _migrate(conn: DbConnection, schema: str, sources: Sequence[MigrationSource]) -> list[Migration]:
    store = store_schema(schema)
    available = [m for source in sources for m in source.migrations()]
    await _create_migrations_table(conn, store)
    async with conn.transaction():
        # Migrations may run long, and another process's as long as they take: the pool's statement
        # timeout is for the store's own queries (a replica waiting beside one that rewrote a large
        # table gave up after 30 s).
        await conn.execute("SET LOCAL statement_timeout = 0")
        # Concurrent migrators of the schema wait for each other on its own table, which only roles
        # that may write it can lock. (An advisory lock is one namespace for the whole database: any
        # role that can connect, another service's or Grafana's, could hold a service's start off.)
        await conn.execute(store.sql("LOCK TABLE {schema_migrations} IN SHARE ROW EXCLUSIVE MODE"))
        rows = await conn.fetch(store.sql("SELECT component, name, checksum FROM {schema_migrations}"))
        pending = pending_migrations(available, [AppliedMigration(*row) for row in rows])
        for migration in pending:
            async with conn.transaction():  # a savepoint: the failing file is named by its own error
                await conn.execute(f"SET LOCAL search_path TO {store.quoted}")
                await conn.execute(migration.sql)
                await conn.execute(
                    store.sql(
                        # When this file was applied: now() would be the transaction's start, alike
                        # for every file of the run.
                        "INSERT INTO {schema_migrations} (component, name, checksum, applied_at) "
                        "VALUES ($1, $2, $3, clock_timestamp())"
                    ),
                    migration.component,
                    migration.name,
                    migration.checksum,
                )
    return pending


async def _create_migrations_table(conn: DbConnection, store: StoreSchema) -> None:
    """Create the table of applied migrations unless it exists. Two first migrators may both try: the
    second one's insert into the catalog then fails on its unique key, and the table is there."""
    with contextlib.suppress(asyncpg.UniqueViolationError, asyncpg.DuplicateTableError):
        await conn.execute(
            store.sql(
                "CREATE TABLE IF NOT EXISTS {schema_migrations} ("
                "component text NOT NULL, name text NOT NULL, checksum text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, name))"
            )
        )
