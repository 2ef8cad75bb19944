-- Every rejected message an operator re-drove (`amnesty rejected redrive`), by where it sits on the
-- rejected topic: recorded in the transaction that queues its original on the outbox, so a redrive run
-- again, or after a crash, finds it here and sends nothing twice. No original, no digest of one: the
-- bytes stay on the rejected topic, the only place allowed to hold them.
CREATE TABLE redrive_log (
    rejected_topic text NOT NULL,
    rejected_partition integer NOT NULL,
    rejected_offset bigint NOT NULL,
    reason text NOT NULL,
    service text NOT NULL,
    -- The id of the outbox row that sends it: queued while that row exists, sent once the relay has
    -- deleted it (Kafka acknowledged it).
    event_id uuid NOT NULL UNIQUE,
    redriven_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rejected_topic, rejected_partition, rejected_offset)
);
