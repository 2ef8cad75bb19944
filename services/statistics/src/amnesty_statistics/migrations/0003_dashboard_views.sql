-- What the Grafana dashboards read (deploy/grafana/generate.py), and all the grafana role may read: the
-- figures and the region names, never a read model's own tables (persons_vN least of all). The views
-- run with this schema owner's rights, so the reader needs SELECT on them and on nothing beneath.
CREATE VIEW dashboard_daily_figures AS SELECT * FROM daily_figures;
CREATE VIEW dashboard_daily_stats AS SELECT * FROM daily_stats;
CREATE VIEW dashboard_region_names AS SELECT region, name FROM region_names;

-- The role exists where the deployment provisions one (compose's init script, `amnesty stack up`);
-- those provisioners grant the same on views that already exist.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'grafana') THEN
        GRANT SELECT ON dashboard_daily_figures, dashboard_daily_stats, dashboard_region_names TO grafana;
    END IF;
END
$$;
