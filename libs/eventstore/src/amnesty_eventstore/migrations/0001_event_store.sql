-- The event store: streams, events, the outbox, snapshots, and the append function.
-- Applied by amnesty_eventstore.migrations with search_path set to the target schema, so names here
-- are unqualified and the functions capture that schema (SET search_path FROM CURRENT).

-- One row per stream: its version (the number of its events). Appends lock this row first, so the
-- expected-version check happens before any position is drawn, and one stream's appends (and their
-- outbox rows) are serialised in version order.
CREATE TABLE streams (
    stream_id text PRIMARY KEY,
    version integer NOT NULL DEFAULT 0 CHECK (version >= 0)
) WITH (fillfactor = 80);  -- room for HOT updates of the version

-- No index on position alone: readers go by (transaction_id, position), and every index costs appends.
CREATE TABLE events (
    position bigint GENERATED ALWAYS AS IDENTITY,
    -- The writing transaction: readers of all events go only below the oldest running transaction,
    -- so a position drawn by a transaction that commits late is never skipped.
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id text NOT NULL,
    stream_version integer NOT NULL CHECK (stream_version >= 1),
    event_id uuid PRIMARY KEY,
    type text NOT NULL,
    schema_version integer NOT NULL DEFAULT 1 CHECK (schema_version >= 1),
    occurred_on date,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    data jsonb NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    UNIQUE (stream_id, stream_version)
);

-- Commit order: every reader of all events walks this index.
CREATE INDEX events_commit_order ON events (transaction_id, position);

-- Messages to publish, written in the transaction of their events. The relay reads them in id order,
-- publishes, and deletes them.
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL,
    topic text NOT NULL,
    key bytea,
    value bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The latest snapshot of a stream's state, for services whose streams are long.
CREATE TABLE snapshots (
    stream_id text PRIMARY KEY,
    version integer NOT NULL CHECK (version >= 0),
    schema_version integer NOT NULL CHECK (schema_version >= 1),
    state jsonb NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now()
);

-- A wake-up for live subscribers, sent at commit; it carries nothing, readers query the table.
CREATE FUNCTION notify_events() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.events', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events
FOR EACH STATEMENT EXECUTE FUNCTION notify_events();

-- Append a group of appends in one statement (one round trip, one transaction when autocommitted).
--
-- Per append i (1..n): stream_ids[i], expected_versions[i] (-1 = any, 0 = no stream yet, n = exactly n),
-- event_counts[i]. Per event j: append_of[j] (its append's index) and its columns; the events of an
-- append are consecutive and in order. topics/keys/headers may be NULL as a whole when no event has any.
--
-- Returns one row per append, in order, with its outcome:
--   appended           first_version..last_version were written
--   duplicate          every event id is stored already with the same stream, type, version and data:
--                      a retry of an append that is done; first/last are the original versions
--   conflict           the stream's version is actual_version, not the expected one; nothing written
--   event_id_conflict  some event ids are stored already with other content (conflicting_ids)
-- One append's conflict does not stop the others. Never ON CONFLICT DO NOTHING on events: a clash
-- that slips past these checks (a concurrent writer of the same id) fails the whole statement.
CREATE FUNCTION append_events(
    stream_ids text[],
    expected_versions integer[],
    event_counts integer[],
    append_of integer[],
    event_ids uuid[],
    types text[],
    schema_versions integer[],
    occurred_ons date[],
    payloads bytea[],
    metadatas text[],
    topics text[],
    keys bytea[],
    headers text[]
) RETURNS TABLE (
    outcome text,
    first_version integer,
    last_version integer,
    actual_version integer,
    conflicting_ids uuid[]
)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    n integer := cardinality(stream_ids);
    locked_ids text[];
    locked_versions integer[];
    versions_before integer[];
    slot_of integer[];
    start_of integer[] := array_fill(NULL::integer, ARRAY[n]);
    outcomes text[] := array_fill(NULL::text, ARRAY[n]);
    firsts integer[] := array_fill(NULL::integer, ARRAY[n]);
    lasts integer[] := array_fill(NULL::integer, ARRAY[n]);
    actuals integer[] := array_fill(NULL::integer, ARRAY[n]);
    accepted boolean[] := array_fill(false, ARRAY[n]);
    any_accepted boolean := false;
    known_found integer[];
    known_same integer[];
    known_first integer[];
    known_last integer[];
    known_ids text[];
    has_known boolean;
    current_version integer;
    next_event integer := 1;
BEGIN
    -- Create missing streams, then lock every stream of the group, both in stream id order so that
    -- concurrent groups cannot deadlock.
    INSERT INTO streams (stream_id)
    SELECT DISTINCT s FROM unnest(stream_ids) AS s ORDER BY s
    ON CONFLICT (stream_id) DO NOTHING;

    SELECT array_agg(l.stream_id ORDER BY l.stream_id), array_agg(l.version ORDER BY l.stream_id)
    INTO locked_ids, locked_versions
    FROM (
        SELECT s.stream_id, s.version FROM streams AS s
        WHERE s.stream_id = ANY (stream_ids)
        ORDER BY s.stream_id
        FOR UPDATE
    ) AS l;
    versions_before := locked_versions;

    SELECT array_agg(l.slot ORDER BY a.i) INTO slot_of
    FROM unnest(stream_ids) WITH ORDINALITY AS a (stream_id, i)
    JOIN unnest(locked_ids) WITH ORDINALITY AS l (stream_id, slot) ON l.stream_id = a.stream_id;

    -- Known event ids (retries, or clashes), looked up after the locks so that a retry racing its
    -- original sees the original's committed rows.
    has_known := EXISTS (SELECT 1 FROM events AS e WHERE e.event_id = ANY (event_ids));
    IF has_known THEN
        SELECT
            array_agg(coalesce(k.found, 0) ORDER BY a.i),
            array_agg(coalesce(k.same, 0) ORDER BY a.i),
            array_agg(k.first ORDER BY a.i),
            array_agg(k.last ORDER BY a.i),
            array_agg(k.ids::text ORDER BY a.i)
        INTO known_found, known_same, known_first, known_last, known_ids
        FROM generate_series(1, n) AS a (i)
        LEFT JOIN (
            SELECT
                x.i,
                count(*)::integer AS found,
                (count(*) FILTER (WHERE x.same))::integer AS same,
                min(x.stream_version) AS first,
                max(x.stream_version) AS last,
                array_agg(x.event_id) AS ids
            FROM (
                SELECT
                    ev.i,
                    e.event_id,
                    e.stream_version,
                    (e.stream_id = stream_ids[ev.i]
                        AND e.type = ev.type
                        AND e.schema_version = ev.schema_version
                        AND e.data = convert_from(ev.payload, 'UTF8')::jsonb) AS same
                FROM unnest(append_of, event_ids, types, schema_versions, payloads)
                    AS ev (i, event_id, type, schema_version, payload)
                JOIN events AS e ON e.event_id = ev.event_id
            ) AS x
            GROUP BY x.i
        ) AS k ON k.i = a.i;
    END IF;

    FOR i IN 1 .. n LOOP
        start_of[i] := next_event;
        next_event := next_event + event_counts[i];
        current_version := locked_versions[slot_of[i]];
        actuals[i] := current_version;
        IF has_known AND known_found[i] > 0 THEN
            IF known_found[i] = event_counts[i] AND known_same[i] = event_counts[i] THEN
                outcomes[i] := 'duplicate';
                firsts[i] := known_first[i];
                lasts[i] := known_last[i];
            ELSE
                outcomes[i] := 'event_id_conflict';
            END IF;
        ELSIF expected_versions[i] >= 0 AND expected_versions[i] <> current_version THEN
            outcomes[i] := 'conflict';
        ELSE
            outcomes[i] := 'appended';
            firsts[i] := current_version + 1;
            lasts[i] := current_version + event_counts[i];
            accepted[i] := true;
            any_accepted := true;
            locked_versions[slot_of[i]] := current_version + event_counts[i];
        END IF;
    END LOOP;

    IF any_accepted THEN
        -- ORDER BY: positions follow the appends' order, so commit order matches stream order.
        INSERT INTO events (
            stream_id, stream_version, event_id, type, schema_version, occurred_on, data, metadata
        )
        SELECT
            stream_ids[ev.i],
            firsts[ev.i] + (ev.j::integer - start_of[ev.i]),
            ev.event_id,
            ev.type,
            ev.schema_version,
            ev.occurred_on,
            convert_from(ev.payload, 'UTF8')::jsonb,
            coalesce(ev.metadata::jsonb, '{}'::jsonb)
        FROM unnest(append_of, event_ids, types, schema_versions, occurred_ons, payloads, metadatas)
            WITH ORDINALITY AS ev (i, event_id, type, schema_version, occurred_on, payload, metadata, j)
        WHERE accepted[ev.i]
        ORDER BY ev.j;

        IF topics IS NOT NULL THEN
            INSERT INTO outbox (event_id, topic, key, value, headers)
            SELECT ev.event_id, ev.topic, ev.key, ev.payload, coalesce(ev.headers::jsonb, '{}'::jsonb)
            FROM unnest(append_of, event_ids, topics, keys, payloads, headers)
                WITH ORDINALITY AS ev (i, event_id, topic, key, payload, headers, j)
            WHERE accepted[ev.i] AND ev.topic IS NOT NULL
            ORDER BY ev.j;
        END IF;

        UPDATE streams AS s SET version = l.version
        FROM unnest(locked_ids, locked_versions, versions_before) AS l (stream_id, version, before)
        WHERE s.stream_id = l.stream_id AND l.version <> l.before;
    END IF;

    RETURN QUERY
    SELECT
        o.outcome,
        o.first_version,
        o.last_version,
        o.actual_version,
        CASE WHEN o.outcome = 'event_id_conflict' THEN known_ids[o.i]::uuid[] END
    FROM unnest(outcomes, firsts, lasts, actuals) WITH ORDINALITY
        AS o (outcome, first_version, last_version, actual_version, i)
    ORDER BY o.i;
END
$$;
