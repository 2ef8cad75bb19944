-- The persons' states as json, not jsonb: a person's state is written whole at every batch that
-- touches them and read whole at the next, never queried into (adapters/person_states.py encodes and
-- decodes it), so the binary form was built at each write only to be turned back into text at each
-- read. The event store's payloads moved to json for the same reason (its migration 0011 has the
-- measurements). New versions are created so; the versions that exist are rewritten once, each table
-- locked while it is (2.4 s for 150,000 persons of about 700 bytes on the 2-core machine), before the
-- service consumes. create_projection_version (0001) is replaced whole for its one type.

DO $$
DECLARE
    v integer;
BEGIN
    FOR v IN SELECT version FROM projection_versions WHERE status <> 'dropped' ORDER BY version LOOP
        IF to_regclass(format('%I', 'persons_v' || v)) IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I ALTER COLUMN state TYPE json USING state::json', 'persons_v' || v);
        END IF;
    END LOOP;
END $$;

-- A new version's empty tables, marked 'building'; returns its number.
CREATE OR REPLACE FUNCTION create_projection_version() RETURNS integer
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    v integer;
BEGIN
    LOCK TABLE projection_versions IN EXCLUSIVE MODE;
    SELECT coalesce(max(version), 0) + 1 INTO v FROM projection_versions;
    -- metric, day first: every query (the API's, Grafana's) asks for a metric over a range of days.
    EXECUTE format(
        'CREATE TABLE %I ('
        '  metric text NOT NULL, day date NOT NULL, region text NOT NULL, article text NOT NULL,'
        '  regime text NOT NULL, reason text NOT NULL, value bigint NOT NULL,'
        '  PRIMARY KEY (metric, day, region, article, regime, reason))',
        'daily_stats_v' || v);
    EXECUTE format(
        'CREATE TABLE %I ('
        '  metric text NOT NULL, region text NOT NULL, article text NOT NULL,'
        '  regime text NOT NULL, reason text NOT NULL, value bigint NOT NULL,'
        '  PRIMARY KEY (metric, region, article, regime, reason))',
        'totals_v' || v);
    EXECUTE format('CREATE TABLE %I (person text PRIMARY KEY, state json NOT NULL)', 'persons_v' || v);
    -- Pseudonyms are not aggregates: Grafana (which may read every table here) is kept off them.
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana') THEN
        EXECUTE format('REVOKE ALL ON TABLE %I FROM grafana', 'persons_v' || v);
    END IF;
    INSERT INTO projection_versions (version, status) VALUES (v, 'building');
    RETURN v;
END $$;
