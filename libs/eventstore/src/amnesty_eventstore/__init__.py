"""amnesty_eventstore: a PostgreSQL event store with an outbox, gap-free reads and migrations.

``EventStore`` is the front door; ``append_in`` appends inside a transaction of the caller's
(``append_copy_in`` does the same by binary COPY, for large appends); ``migrate`` sets up a schema.
"""

from amnesty_eventstore.appending import AppendOutcome, append_in, append_many_in
from amnesty_eventstore.checkpoints import START, Checkpoint
from amnesty_eventstore.connections import DbConnection, Pool, create_pool
from amnesty_eventstore.copying import append_copy_in
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
from amnesty_eventstore.snapshots import Snapshot, load_snapshot, save_snapshot
from amnesty_eventstore.store import EventStore
from amnesty_eventstore.subscription import Subscription
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
    "Migration",
    "MigrationChecksumError",
    "MigrationError",
    "MigrationOrderError",
    "MigrationSource",
    "NewEvent",
    "Pool",
    "RecordedEvent",
    "Snapshot",
    "StreamState",
    "Subscription",
    "UpcastError",
    "Upcaster",
    "Upcasters",
    "append_copy_in",
    "append_in",
    "append_many_in",
    "catch_up",
    "create_pool",
    "load_snapshot",
    "migrate",
    "oldest_transaction_age_seconds",
    "read_all",
    "read_stream",
    "read_streams",
    "save_snapshot",
    "streams_holding",
    "walk_streams",
    "watch_oldest_transaction",
]
