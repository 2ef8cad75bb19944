#!/bin/bash
# The local PostgreSQL image's entrypoint, doing what postgres:18's does for this project: on an empty
# data directory, initdb with POSTGRES_USER / POSTGRES_PASSWORD, create POSTGRES_DB and run
# /docker-entrypoint-initdb.d/*.sh against a server that listens on its socket only (so a TCP
# healthcheck stays unhealthy until they have run); then the real server replaces this shell.
set -euo pipefail
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
export POSTGRES_USER="${POSTGRES_USER:-postgres}" POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
if [[ "$POSTGRES_PASSWORD" == "$POSTGRES_USER" ]]; then
  echo "POSTGRES_PASSWORD must not be the superuser's name" >&2
  exit 1
fi
SOCKET_DIR=/var/run/postgresql

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  # Clients come over compose's network; each authenticates with its password.
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  pg_ctl --wait --timeout=60 --silent -o "-c listen_addresses='' -k $SOCKET_DIR" start
  export PGHOST="$SOCKET_DIR"
  if [[ "$POSTGRES_DB" != postgres ]]; then
    psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname=postgres \
      --set=db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  for script in /docker-entrypoint-initdb.d/*.sh; do
    [[ -e "$script" ]] || continue
    echo "running $script"
    bash "$script"
  done
  pg_ctl --wait --timeout=60 --silent -m fast stop
  unset PGHOST
fi

exec postgres -c listen_addresses='*' -k "$SOCKET_DIR"
