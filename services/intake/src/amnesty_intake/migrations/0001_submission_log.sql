-- Every submission intake recorded, by its idempotency key. No raw identifier is kept here: the person
-- is a pseudonym and the content a keyed digest (HMAC), so this table cannot be brute-forced back to
-- tax or service numbers.
CREATE TABLE submission_log (
    source text NOT NULL,
    submission_id text NOT NULL,
    content_hmac text NOT NULL,
    event_id uuid NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, submission_id)
);
