"""What can go wrong in the event store, as exceptions the caller can act on."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID


class EventStoreError(Exception):
    """Base of every error the event store raises on purpose."""


class ConcurrencyError(EventStoreError):
    """The stream is not at the expected version: someone else appended first. Nothing was written."""

    def __init__(self, stream_id: str, expected: object, actual: int) -> None:
        super().__init__(f"stream {stream_id!r} is at version {actual}, expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class EventIdConflict(EventStoreError):  # noqa: N818 - the name callers know it by
    """Event ids already stored with other content (or as part of another append). Nothing was written."""

    def __init__(self, stream_id: str, event_ids: Sequence[UUID]) -> None:
        ids = ", ".join(str(i) for i in event_ids) or "(written meanwhile by a concurrent append)"
        super().__init__(f"append to stream {stream_id!r} reuses event ids with other content: {ids}")
        self.stream_id = stream_id
        self.event_ids = tuple(event_ids)


class UpcastError(EventStoreError):
    """A stored event could not be brought to its type's current version."""


class MigrationError(EventStoreError):
    """The migrations on disk and those applied to the schema disagree."""


class MigrationChecksumError(MigrationError):
    """An applied migration's file has changed since it was applied; applied files are immutable."""

    def __init__(self, component: str, name: str, applied: str, found: str) -> None:
        super().__init__(
            f"migration {component}/{name} changed after it was applied "
            f"(applied checksum {applied[:12]}…, file now {found[:12]}…); add a new migration instead"
        )
        self.component = component
        self.name = name


class MigrationOrderError(MigrationError):
    """A new migration sorts before one already applied, so applying it would reorder history."""

    def __init__(self, component: str, name: str, latest_applied: str) -> None:
        super().__init__(
            f"migration {component}/{name} is new but sorts before the applied {latest_applied}; "
            "rename it to come after"
        )
        self.component = component
        self.name = name
