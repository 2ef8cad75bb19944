"""Where the served read model stands: its active version and how far that version's group has applied.

Every change of the read model commits together with its consumer checkpoints, so this pair changes
exactly when what the views show may have changed (a new batch, or a rebuild's switch). One indexed
read of a few rows: cheap enough to ask every second.
"""

from __future__ import annotations

from typing import NamedTuple

from amnesty_eventstore import Pool
from amnesty_eventstore.schemas import store_schema
from amnesty_statistics.adapters.versions import version_group


class Position(NamedTuple):
    version: int
    applied: int
    """The sum of the active version's next offsets over every partition of its topics."""


class ReadModelPosition:
    def __init__(self, pool: Pool, schema: str, consumer_group: str) -> None:
        self._pool = pool
        self._store = store_schema(schema)
        self._group = consumer_group

    async def __call__(self) -> Position:
        version = await self._pool.fetchval(
            self._store.sql("SELECT version FROM {projection_versions} WHERE status = 'active'")
        )
        if version is None:
            return Position(0, 0)
        applied = await self._pool.fetchval(
            self._store.sql(
                "SELECT coalesce(sum(next_offset), 0)::bigint FROM {consumer_checkpoints} "
                "WHERE consumer_group = $1"
            ),
            version_group(self._group, version),
        )
        return Position(int(version), int(applied))
