"""The versions of the read model (table `projection_versions` and the functions of migration 0001)."""

from __future__ import annotations

from amnesty_eventstore import DbConnection, Pool
from amnesty_eventstore.schemas import store_schema


def version_group(base_group: str, version: int) -> str:
    """The consumer group that feeds version ``version``: its checkpoints are that version's."""
    return f"{base_group}-v{version}"


class ProjectionVersions:
    def __init__(self, schema: str) -> None:
        self._store = store_schema(schema)

    async def active(self, db: DbConnection | Pool) -> int:
        """The version the views show (the migration makes version 1 active)."""
        version = await db.fetchval(
            self._store.sql("SELECT version FROM {projection_versions} WHERE status = 'active'")
        )
        assert version is not None, "migration 0001 makes a version active"
        return int(version)

    async def create(self, conn: DbConnection) -> int:
        """A new version's empty tables, marked building; its number."""
        return int(await conn.fetchval(self._store.sql("SELECT {create_projection_version}()")))

    async def activate(self, conn: DbConnection, version: int) -> None:
        """Point the views at ``version`` and retire the version they showed."""
        await conn.execute(self._store.sql("SELECT {activate_projection_version}($1)"), version)

    async def with_status(
        self, db: DbConnection | Pool, status: str, *, older_than_s: float = 0.0
    ) -> list[int]:
        """Versions in ``status`` for at least ``older_than_s`` seconds (by their last change)."""
        rows = await db.fetch(
            self._store.sql(
                "SELECT version FROM {projection_versions} WHERE status = $1 AND "
                "coalesce(retired_at, created_at) <= now() - make_interval(secs => $2) ORDER BY version"
            ),
            status,
            older_than_s,
        )
        return [r["version"] for r in rows]

    async def drop(self, conn: DbConnection, version: int, group: str) -> None:
        """Drop a version that is not active: its tables, its checkpoints and handled event ids."""
        async with conn.transaction():
            # A replica still on that version holds its tables for the length of a batch at most; the
            # handled event ids of a long history take a while to delete.
            await conn.execute("SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '10min'")
            await conn.execute(self._store.sql("SELECT {drop_projection_version}($1, $2)"), version, group)
