-- The channel appends wake subscribers and the relay on gets a random name, kept in a table only the
-- schema's owner can read. NOTIFY and LISTEN have no privileges of their own: on the old name,
-- "<schema>.events", any role of the database could wake another service's readers at will. Only the
-- owner's sessions know the new one (another role sees neither the table nor the owner's queries).
CREATE TABLE events_channel (
    name text NOT NULL
);
INSERT INTO events_channel (name) SELECT 'events_' || replace(gen_random_uuid()::text, '-', '');
CREATE UNIQUE INDEX events_channel_one_row ON events_channel ((true));

CREATE OR REPLACE FUNCTION notify_events() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    channel text;
BEGIN
    EXECUTE format('SELECT name FROM %I.events_channel', TG_TABLE_SCHEMA) INTO channel;
    PERFORM pg_notify(channel, '');
    RETURN NULL;
END
$$;
