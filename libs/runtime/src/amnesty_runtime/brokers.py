"""The Kafka broker (FastStream) every service and command consumes with, wired to the one log pipeline.

FastStream logs a Received and a Processed line for every message it hands to a subscriber, with a
coloured text logger of its own by default. Here it logs through the root logger (so structlog renders
its lines like any other) at DEBUG: with batch subscribers those are two lines per batch, noise at INFO.
"""

from __future__ import annotations

import logging
from typing import Any

from faststream import BaseMiddleware, StreamMessage
from faststream.kafka import KafkaBroker

from amnesty_runtime.kafka_client import KafkaClientOptions
from amnesty_runtime.logs import message_context

BROKER_LOGGER = "faststream.access.kafka"
"""The name FastStream itself gives its Kafka broker's logger."""


class LogMessageContext(BaseMiddleware):
    """Binds the consumed message's correlation id and its own id (the cause of whatever its handling
    logs) to every line logged while it is handled.

    For a batch subscriber the message is the batch: its id names its offsets, and its correlation id is
    the first record's ``correlation_id`` header or a new one per batch.
    """

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        with message_context(correlation_id=msg.correlation_id, causation_id=msg.message_id):
            return await call_next(msg)


def kafka_broker(client: KafkaClientOptions, client_id: str) -> KafkaBroker:
    """A broker whose own lines go through the log pipeline, per-message ones at DEBUG; it connects as
    ``client`` says (SASL/SCRAM credentials, TLS)."""
    return KafkaBroker(
        client.bootstrap_servers,
        security=client.faststream_security(),
        client_id=client_id,
        logger=logging.getLogger(BROKER_LOGGER),
        log_level=logging.DEBUG,
        middlewares=[LogMessageContext],
    )
