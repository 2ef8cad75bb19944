-- Effectively-once consumption of Kafka topics: what a consumer group has applied, written in the same
-- transaction as the state it changed (see amnesty_eventstore.consumption).

-- The next offset to apply, per consumer group and partition. On assignment the consumer seeks here,
-- so the database, not Kafka's committed offsets, says where to resume; a batch locks its partitions'
-- rows first, so a consumer that lost its partitions in a rebalance cannot apply them a second time.
CREATE TABLE consumer_checkpoints (
    consumer_group text NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL CHECK (partition >= 0),
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- The messages a group has applied, by their identity (an event id, an idempotency key): the same
-- message at another offset, e.g. re-sent by an outbox relay that was killed before it marked a row
-- published, is recognised and skipped.
CREATE TABLE handled_messages (
    consumer_group text NOT NULL,
    message_key text NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, message_key)
);
