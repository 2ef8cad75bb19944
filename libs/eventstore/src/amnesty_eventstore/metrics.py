"""The event store's Prometheus metrics (default registry); labelled by schema, never by stream."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

APPENDS = Counter(
    "amnesty_eventstore_appends",
    "Appends by outcome: appended, duplicate (a retry already done), conflict, event_id_conflict.",
    ["schema", "outcome"],
)
EVENTS_APPENDED = Counter("amnesty_eventstore_events_appended", "Events written.", ["schema"])
APPEND_SECONDS = Histogram(
    "amnesty_eventstore_append_seconds",
    "From an append call to its result, queueing for the group commit included.",
    ["schema"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
GROUP_CALLERS = Histogram(
    "amnesty_group_commit_callers",
    "Callers whose work committed together in one transaction, by group commit (e.g. intake-http).",
    ["name"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
GROUP_FALLBACKS = Counter(
    "amnesty_group_commit_fallbacks",
    "Groups whose transaction failed as a whole and were retried one caller at a time.",
    ["name"],
)
EVENTS_READ = Counter(
    "amnesty_eventstore_events_read", "Events read in checkpoint order (read_all, catch_up).", ["schema"]
)
OLDEST_XACT_SECONDS = Gauge(
    "amnesty_eventstore_oldest_xact_seconds",
    "Age of the oldest open transaction holding a transaction id: it holds back the read horizon.",
)
OUTBOX_PENDING = Gauge(
    "amnesty_outbox_pending", "Outbox messages written but not yet acknowledged by Kafka.", ["service"]
)
OUTBOX_PUBLISHED = Counter(
    "amnesty_outbox_published", "Outbox messages acknowledged by Kafka and deleted.", ["service"]
)
OUTBOX_PARKED = Counter(
    "amnesty_outbox_parked",
    "Outbox messages no Kafka request can carry, moved to the schema's outbox_parked table.",
    ["service"],
)
OUTBOX_RELAY_LEADING = Gauge(
    "amnesty_outbox_relay_leading",
    "1 while this process's outbox relay holds its schema's lock and publishes, else 0.",
    ["service"],
)
