"""amnesty_eventstore: a PostgreSQL event store with an outbox, gap-free reads and migrations.

``append_in`` / ``append_many_in`` append inside a transaction of the caller's (a consumer's batch);
``EventStore`` group-commits concurrent single-stream appends, and ``GroupCommit`` does the same for any
transactional work (intake's HTTP admissions); ``migrate`` sets up a schema.
"""

from amnesty_eventstore.appending import AppendOutcome, append_in, append_many_in
from amnesty_eventstore.checkpoints import START, Checkpoint
from amnesty_eventstore.connections import DbConnection, Pool, create_pool
from amnesty_eventstore.errors import (
    ConcurrencyError,
    EventIdConflict,
    EventStoreError,
    MigrationChecksumError,
    MigrationError,
    MigrationOrderError,
    UpcastError,
)
from amnesty_eventstore.events import (
    ANY,
    NO_STREAM,
    AppendRequest,
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamState,
)
from amnesty_eventstore.group_commit import GroupCommit
from amnesty_eventstore.horizon import oldest_transaction_age_seconds, watch_oldest_transaction
from amnesty_eventstore.migrations import EVENTSTORE_MIGRATIONS, Migration, MigrationSource, migrate
from amnesty_eventstore.reading import (
    catch_up,
    read_all,
    read_stream,
    read_streams,
    streams_holding,
    walk_streams,
)
from amnesty_eventstore.store import EventStore
from amnesty_eventstore.upcasting import Upcaster, Upcasters

__all__ = [
    "ANY",
    "EVENTSTORE_MIGRATIONS",
    "NO_STREAM",
    "START",
    "AppendOutcome",
    "AppendRequest",
    "AppendResult",
    "Checkpoint",
    "ConcurrencyError",
    "DbConnection",
    "EventIdConflict",
    "EventStore",
    "EventStoreError",
    "ExpectedVersion",
    "GroupCommit",
    "Migration",
    "MigrationChecksumError",
    "MigrationError",
    "MigrationOrderError",
    "MigrationSource",
    "NewEvent",
    "Pool",
    "RecordedEvent",
    "StreamState",
    "UpcastError",
    "Upcaster",
    "Upcasters",
    "append_in",
    "append_many_in",
    "catch_up",
    "create_pool",
    "migrate",
    "oldest_transaction_age_seconds",
    "read_all",
    "read_stream",
    "read_streams",
    "streams_holding",
    "walk_streams",
    "watch_oldest_transaction",
]
