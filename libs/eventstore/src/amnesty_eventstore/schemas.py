"""The schema a store lives in: a checked name and the qualified names of the store's objects.

Every statement names its tables with the schema, so a connection's search_path does not matter and
one role can use several stores (as the tests do).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from amnesty_eventstore.connections import DbConnection

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,55}")
_OBJECT_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class StoreSchema:
    """Quoted, schema-qualified names of the event store's objects in one schema."""

    name: str

    @property
    def quoted(self) -> str:
        return f'"{self.name}"'

    def table(self, name: str) -> str:
        """``"schema"."name"`` of a table or function in the schema (a lower-case identifier)."""
        if not _OBJECT_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a lower-case identifier")
        return f'{self.quoted}."{name}"'

    def sql(self, template: str) -> str:
        """``template`` with ``{events}``, ``{streams}``, ... replaced by their qualified names.

        Only names are substituted, never values: those always go as bind parameters.
        """
        return _PLACEHOLDER.sub(lambda match: self.table(match.group(1)), template)

    async def channel(self, conn: DbConnection) -> str:
        """The LISTEN/NOTIFY channel appends wake subscribers on (see the events_notify trigger): a
        random name kept in the schema, so that only its owner's sessions can listen or notify on it."""
        name: str = await conn.fetchval(self.sql("SELECT name FROM {events_channel}"))
        return name

    def notify_sql(self) -> str:
        """A statement that wakes the schema's subscribers and relay, as an append does."""
        return self.sql("SELECT pg_notify(name, '') FROM {events_channel}")


@lru_cache(maxsize=64)
def store_schema(name: str) -> StoreSchema:
    """The store in schema ``name``: lower-case letters, digits and underscores, at most 56 characters."""
    if not _SCHEMA_NAME.fullmatch(name):
        raise ValueError(f"schema name {name!r}: use lower-case letters, digits and underscores (at most 56)")
    return StoreSchema(name)
