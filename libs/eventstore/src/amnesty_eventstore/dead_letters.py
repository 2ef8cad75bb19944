"""Dead letters: the messages a service could not take, published to the rejected topic by its outbox.

Written in the batch's transaction like any outgoing event, so a batch that fails and comes again
rejects its messages once, and they reach Kafka in order through the relay. They are outbox rows only,
not events: a dead letter is no fact of the service's domain, and intake's hold the raw bytes from
upstream (raw identifiers included), which must not stay in its store; the relay deletes each row once
Kafka has acknowledged it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from uuid import UUID

from amnesty_contracts import MAX_MESSAGE_BYTES, RejectedMessage, new_event_id
from amnesty_eventstore.connections import DbConnection
from amnesty_eventstore.schemas import store_schema


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected message as published: the original message's key, and the rejection's JSON."""

    key: bytes | None
    value: bytes

    @classmethod
    def of(cls, key: bytes | None, message: RejectedMessage) -> DeadLetter:
        """The dead letter of a message received with ``key``: the contract's rejected message as JSON.

        The key is kept as received up to 64 KiB (the contract's limit for a message), and cut there.
        The rejection holds at most 64 KiB of the original too, so every dead letter fits in a Kafka
        request. A key as long as the broker takes (near 1 MiB) made one that did not: the relay
        could never publish it, and everything queued behind it in the outbox waited for good.
        """
        if key is not None and len(key) > MAX_MESSAGE_BYTES:
            key = key[:MAX_MESSAGE_BYTES]
        return cls(key, message.model_dump_json().encode())


@lru_cache(maxsize=16)
def _insert_sql(schema: str) -> str:
    # The relay sleeps until a NOTIFY on the events channel (or its poll): wake it as an append does.
    return store_schema(schema).sql(
        "WITH letters AS (INSERT INTO {outbox} (event_id, topic, key, value) "
        "SELECT u.event_id, $1::text, u.key, u.value "
        "FROM unnest($2::uuid[], $3::bytea[], $4::bytea[]) WITH ORDINALITY AS u(event_id, key, value, n) "
        "ORDER BY u.n RETURNING 1) "
        "SELECT pg_notify(c.name, '') FROM (SELECT 1 FROM letters LIMIT 1) AS queued, {events_channel} AS c"
    )


async def dead_letter_in(
    conn: DbConnection,
    schema: str,
    topic: str,
    letters: Sequence[DeadLetter],
    new_id: Callable[[], UUID] = new_event_id,
) -> None:
    """Queue ``letters`` for ``topic`` in ``conn``'s transaction, in order (one round trip)."""
    if not letters:
        return
    await conn.execute(
        _insert_sql(schema),
        topic,
        [new_id() for _ in letters],
        [letter.key for letter in letters],
        [letter.value for letter in letters],
    )
