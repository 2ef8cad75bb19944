-- append_events (0001, 0003) becomes a wrapper of append_events_packed (0008): one body for both, so
-- a change to how appends are checked and written is made once. The old statement stays callable with
-- the same arguments and outcomes (a process of the previous release during an upgrade): its payloads
-- are packed here, in one statement, and handed to the new function.

CREATE OR REPLACE FUNCTION append_events(
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
LANGUAGE sql
SET search_path FROM CURRENT
SET enable_seqscan = off
AS $$
    WITH parts AS (
        SELECT
            u.i,
            u.payload,
            (sum(octet_length(u.payload)) OVER (ORDER BY u.i) - octet_length(u.payload))::integer AS at
        FROM unnest(payloads) WITH ORDINALITY AS u (payload, i)
    ), packed AS (
        SELECT
            coalesce(string_agg(p.payload, ''::bytea ORDER BY p.i), ''::bytea) AS bytes,
            coalesce(array_agg(p.at ORDER BY p.i), '{}') AS offsets,
            coalesce(array_agg(octet_length(p.payload) ORDER BY p.i), '{}') AS lengths
        FROM parts AS p
    )
    SELECT a.outcome, a.first_version, a.last_version, a.actual_version, a.conflicting_ids
    FROM packed,
    LATERAL append_events_packed(
        stream_ids, expected_versions, event_counts, append_of, event_ids, types, schema_versions,
        occurred_ons, packed.bytes, packed.offsets, packed.lengths, metadatas, topics, keys, headers
    ) AS a
$$;
