#!/usr/bin/env bash
# Runs as the superuser on the first start of an empty data directory (docker-entrypoint-initdb.d).
# One login role and one schema per service, so that no service can read another's tables, and a
# read-only role for Grafana on the statistics read models. Passwords come from the container's
# environment. Every statement is idempotent, so the script can be re-run against a live database.
set -euo pipefail

: "${POSTGRES_USER:?}" "${POSTGRES_DB:?}"
: "${INTAKE_DB_PASSWORD:?INTAKE_DB_PASSWORD must be set}"
: "${ELIGIBILITY_DB_PASSWORD:?ELIGIBILITY_DB_PASSWORD must be set}"
: "${STATISTICS_DB_PASSWORD:?STATISTICS_DB_PASSWORD must be set}"
: "${GRAFANA_DB_PASSWORD:?GRAFANA_DB_PASSWORD must be set}"
# A password equal to its role's name is the first one anybody tries.
for role in intake eligibility statistics grafana; do
  variable="${role^^}_DB_PASSWORD"
  if [[ "${!variable}" == "$role" ]]; then
    echo "$variable must not be the role's name" >&2
    exit 1
  fi
done

# Values travel as psql variables (:'name' quotes a literal, :"name" an identifier), never spliced
# into the SQL text by the shell: the heredoc is quoted.
psql --no-psqlrc --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname="$POSTGRES_DB" \
    --set=db="$POSTGRES_DB" \
    --set=intake_password="$INTAKE_DB_PASSWORD" \
    --set=eligibility_password="$ELIGIBILITY_DB_PASSWORD" \
    --set=statistics_password="$STATISTICS_DB_PASSWORD" \
    --set=grafana_password="$GRAFANA_DB_PASSWORD" \
    <<'SQL'
\set QUIET on

-- Only the roles named here may connect, and nobody uses the public schema (PostgreSQL 15+ already
-- revokes CREATE there; it is stated so that it never depends on the version). The same doors that
-- amnesty_runtime.stack.provisioning closes for the local stack.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE CONNECT ON DATABASE postgres, template1 FROM PUBLIC;

SELECT format('CREATE ROLE %I', wanted.rolname)
FROM unnest(ARRAY['intake', 'eligibility', 'statistics', 'grafana']) AS wanted (rolname)
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles AS r WHERE r.rolname = wanted.rolname)
\gexec

ALTER ROLE intake WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'intake_password';
ALTER ROLE eligibility WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'eligibility_password';
ALTER ROLE statistics WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'statistics_password';
ALTER ROLE grafana WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'grafana_password';

-- TEMPORARY: the services stage bulk imports and rebuilds through COPY into temporary tables.
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO intake, eligibility, statistics;
GRANT CONNECT ON DATABASE :"db" TO grafana;

CREATE SCHEMA IF NOT EXISTS intake AUTHORIZATION intake;
CREATE SCHEMA IF NOT EXISTS eligibility AUTHORIZATION eligibility;
CREATE SCHEMA IF NOT EXISTS statistics AUTHORIZATION statistics;

-- Unqualified names resolve in the service's own schema.
ALTER ROLE intake IN DATABASE :"db" SET search_path = intake;
ALTER ROLE eligibility IN DATABASE :"db" SET search_path = eligibility;
ALTER ROLE statistics IN DATABASE :"db" SET search_path = statistics;

-- An open transaction holds back the event store's read horizon (pg_snapshot_xmin) for every
-- subscriber, so a session that idles inside one is ended.
ALTER ROLE intake IN DATABASE :"db" SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE eligibility IN DATABASE :"db" SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE statistics IN DATABASE :"db" SET idle_in_transaction_session_timeout = '60s';

-- Grafana reads the dashboard views of statistics and nothing else (never a read model's tables, nor
-- persons_vN): statistics' migration 0003 creates them and grants SELECT on them to grafana; here only
-- USAGE of the schema, and what an earlier version of this script granted is taken back.
GRANT USAGE ON SCHEMA statistics TO grafana;
REVOKE ALL ON ALL TABLES IN SCHEMA statistics FROM grafana;
ALTER DEFAULT PRIVILEGES FOR ROLE statistics IN SCHEMA statistics REVOKE ALL ON TABLES FROM grafana;
SELECT format('GRANT SELECT ON statistics.%I TO grafana', viewname) FROM pg_catalog.pg_views
WHERE schemaname = 'statistics'
  AND viewname IN ('dashboard_daily_figures', 'dashboard_daily_stats', 'dashboard_region_names')
\gexec
ALTER ROLE grafana IN DATABASE :"db" SET search_path = statistics;
ALTER ROLE grafana IN DATABASE :"db" SET default_transaction_read_only = on;
ALTER ROLE grafana IN DATABASE :"db" SET statement_timeout = '30s';
SQL
