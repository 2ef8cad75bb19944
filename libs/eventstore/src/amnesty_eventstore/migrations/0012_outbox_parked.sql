-- Outbox rows no Kafka request can carry (the record alone, with the relay's headers, is over what a
-- request may hold): published, they failed before anything was sent, the relay retried them for
-- good, and every row queued behind them waited. The relay moves such a row here, out of the way, in
-- the statement that deletes its pass's published rows: kept, counted (amnesty_outbox_parked_total)
-- and logged, never dropped. An operator reads them here; none can be published as it is.
CREATE TABLE outbox_parked (
    id bigint PRIMARY KEY,  -- the row's id in the outbox
    event_id uuid NOT NULL,
    topic text NOT NULL,
    key bytea,
    value bytea NOT NULL,
    headers jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    reason text NOT NULL
);
