-- The event store no longer keeps handled ids (its migration 0004): dropping a version forgets its
-- tables and its consumer group's checkpoints.
CREATE OR REPLACE FUNCTION drop_projection_version(v integer, consumer_group text) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT FROM projection_versions WHERE version = v AND status = 'active') THEN
        RAISE EXCEPTION 'projection version % is active', v;
    END IF;
    EXECUTE format(
        'DROP TABLE IF EXISTS %I, %I, %I', 'daily_stats_v' || v, 'totals_v' || v, 'persons_v' || v);
    DELETE FROM consumer_checkpoints AS c WHERE c.consumer_group = drop_projection_version.consumer_group;
    UPDATE projection_versions SET status = 'dropped', dropped_at = now() WHERE version = v;
END $$;
