"""The operational metrics of docs/contract.md, defined once for every service.

Labels never carry a person, case or unit: only service, topic, event type, reason.
(`amnesty_outbox_pending` lives with the outbox relay in amnesty_eventstore.)
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# The *_created samples add a series per label set that no dashboard reads.
disable_created_metrics()  # type: ignore[no-untyped-call]

MESSAGES_CONSUMED = Counter(
    "amnesty_messages_consumed",
    "Messages a service consumed, by topic and message type.",
    ["service", "topic", "type"],
)
MESSAGES_REJECTED = Counter(
    "amnesty_messages_rejected",
    "Messages a service rejected, by machine-readable reason.",
    ["service", "reason"],
)
CONSUMER_LAG = Gauge(
    "amnesty_consumer_lag_messages",
    "Messages on a topic that the service's consumer has not applied yet (its partitions here).",
    ["service", "topic"],
)
HANDLER_SECONDS = Histogram(
    "amnesty_handler_seconds",
    "Time to handle messages of one type, per message (a batch's time shared among its messages).",
    ["service", "type"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)

# HTTP, for every service: the route is the template (`/schemas/{name}`), never the raw path.
HTTP_REQUESTS = Counter(
    "amnesty_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "amnesty_http_request_seconds",
    "Time from a request's arrival to the end of its answer (a stream's whole life).",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_UNHANDLED_ERRORS = Counter(
    "amnesty_http_unhandled_errors",
    "Requests that failed on an exception no handler took (answered 500), by exception type.",
    ["service", "route", "error"],
)

# Provenance (docs/contract.md): domain events refused because their producer is not proven; each is
# also counted in amnesty_messages_rejected with the same reason, this one says on which topic.
EVENTS_UNVERIFIED = Counter(
    "amnesty_events_unverified",
    "Domain events dead-lettered because their signature did not prove their producer, by reason.",
    ["service", "topic", "reason"],
)
