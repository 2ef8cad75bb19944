-- The statistics read models, in versions built side by side (blue/green): version N has its own
-- tables, daily_stats_vN, totals_vN and persons_vN, fed by consumer group <group>-vN. The stable views
-- daily_stats and totals show the active version; Grafana and the API read only the views. See
-- amnesty_statistics.adapters.read_model for what every column means.

CREATE TABLE projection_versions (
    version integer PRIMARY KEY CHECK (version > 0),
    status text NOT NULL CHECK (status IN ('building', 'active', 'retired', 'dropped')),
    created_at timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    retired_at timestamptz,
    dropped_at timestamptz
);

-- At most one version is active: the one the views show.
CREATE UNIQUE INDEX projection_versions_one_active ON projection_versions ((true)) WHERE status = 'active';

-- The functions below run with this schema as their search_path (FROM CURRENT: the migration's), so the
-- service can call them schema-qualified from any session. The tables are created in the caller's name.

-- A new version's empty tables, marked 'building'; returns its number.
CREATE FUNCTION create_projection_version() RETURNS integer
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
    EXECUTE format('CREATE TABLE %I (person text PRIMARY KEY, state jsonb NOT NULL)', 'persons_v' || v);
    -- Pseudonyms are not aggregates: Grafana (which may read every table here) is kept off them.
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana') THEN
        EXECUTE format('REVOKE ALL ON TABLE %I FROM grafana', 'persons_v' || v);
    END IF;
    INSERT INTO projection_versions (version, status) VALUES (v, 'building');
    RETURN v;
END $$;

-- Make a built version the one the views show, and retire the one they showed.
CREATE FUNCTION activate_projection_version(v integer) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    LOCK TABLE projection_versions IN EXCLUSIVE MODE;
    UPDATE projection_versions SET status = 'retired', retired_at = now() WHERE status = 'active';
    UPDATE projection_versions SET status = 'active', activated_at = now()
    WHERE version = v AND status = 'building';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'projection version % is not being built', v;
    END IF;
    EXECUTE format(
        'CREATE OR REPLACE VIEW daily_stats AS '
        'SELECT metric, day, region, article, regime, reason, value FROM %I', 'daily_stats_v' || v);
    EXECUTE format(
        'CREATE OR REPLACE VIEW totals AS '
        'SELECT metric, region, article, regime, reason, value FROM %I', 'totals_v' || v);
END $$;

-- Drop a version that is not active, with what its consumer group recorded.
CREATE FUNCTION drop_projection_version(v integer, consumer_group text) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT FROM projection_versions WHERE version = v AND status = 'active') THEN
        RAISE EXCEPTION 'projection version % is active', v;
    END IF;
    EXECUTE format(
        'DROP TABLE IF EXISTS %I, %I, %I', 'daily_stats_v' || v, 'totals_v' || v, 'persons_v' || v);
    DELETE FROM consumer_checkpoints AS c WHERE c.consumer_group = drop_projection_version.consumer_group;
    DELETE FROM handled_messages AS h WHERE h.consumer_group = drop_projection_version.consumer_group;
    UPDATE projection_versions SET status = 'dropped', dropped_at = now() WHERE version = v;
END $$;

SELECT activate_projection_version(create_projection_version());

-- One row per day, region and article with every figure as a column: the shape Grafana's SQL panels
-- like best. open_cases_change is a change, not a level (sum it up to a date for the open cases then).
CREATE VIEW daily_figures AS
SELECT
    day,
    region,
    article,
    coalesce(sum(value) FILTER (WHERE metric = 'cases_opened'), 0)::bigint AS cases_opened,
    coalesce(sum(value) FILTER (WHERE metric = 'voluntary_returns'), 0)::bigint AS voluntary_returns,
    coalesce(sum(value) FILTER (WHERE metric = 'detained'), 0)::bigint AS detained,
    coalesce(sum(value) FILTER (WHERE metric = 'amnesties_granted'), 0)::bigint AS amnesties_granted,
    coalesce(sum(value) FILTER (WHERE metric = 'amnesties_denied'), 0)::bigint AS amnesties_denied,
    coalesce(sum(value) FILTER (WHERE metric = 'pending'), 0)::bigint AS pending,
    coalesce(sum(value) FILTER (WHERE metric = 'revoked'), 0)::bigint AS revoked,
    coalesce(sum(value) FILTER (WHERE metric = 'open_cases_change'), 0)::bigint AS open_cases_change
FROM daily_stats
GROUP BY day, region, article;

-- The regions' names for labels (filled from amnesty_contracts.REGION_NAMES when the service starts).
CREATE TABLE region_names (
    region text PRIMARY KEY,
    name text NOT NULL
);
