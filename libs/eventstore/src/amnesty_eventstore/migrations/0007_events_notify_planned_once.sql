-- The wake-up trigger (0006_private_events_channel) looked its channel up with EXECUTE format(...),
-- which parses and plans that query afresh at every appending statement: about a tenth of a
-- 16-append group's time on the server. The same lookup as static SQL is planned once per session;
-- the function captures this schema's search_path (as append_events does), so it needs no dynamic name.
CREATE OR REPLACE FUNCTION notify_events() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    PERFORM pg_notify(name, '') FROM events_channel;
    RETURN NULL;
END
$$;
