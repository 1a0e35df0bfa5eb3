#!/usr/bin/env bash
# Makes a PostgreSQL server answer on 127.0.0.1:5432 with a database "test" that the user "postgres"
# reaches without a password from loopback: what `npm run test:pg` (test/pg) expects by default
# (CATENA_PG_URL=postgres://postgres@127.0.0.1:5432/test). Idempotent: a server that already
# answers is used as it is. Installing and starting one needs root (apt-get, pg_ctlcluster).
set -euo pipefail
HOST=127.0.0.1
PORT=5432

newest_cluster_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -1; }

if ! pg_isready -q -h "$HOST" -p "$PORT" 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(newest_cluster_version)" ]; then
    echo "ci-postgres: installing PostgreSQL" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
  fi
  ver=$(newest_cluster_version)
  echo "ci-postgres: starting cluster $ver/main" >&2
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true # non-zero when already running
  for _ in $(seq 1 60); do
    pg_isready -q -h "$HOST" -p "$PORT" && break
    sleep 0.5
  done
  pg_isready -h "$HOST" -p "$PORT" >&2 || { echo "ci-postgres: the server does not answer on $HOST:$PORT" >&2; exit 1; }
fi

# Trust loopback connections when the server asks for a password (test servers only).
if ! psql -h "$HOST" -p "$PORT" -U postgres -d postgres -w -Atc 'SELECT 1' >/dev/null 2>&1; then
  ver=$(newest_cluster_version)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  [ -f "$hba" ] || { echo "ci-postgres: cannot log in as postgres and found no $hba to fix" >&2; exit 1; }
  if ! grep -q '^host[[:space:]]\+all[[:space:]]\+all[[:space:]]\+127.0.0.1/32[[:space:]]\+trust' "$hba"; then
    echo "ci-postgres: trusting 127.0.0.1 in $hba" >&2
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba" # pg_hba.conf is first match: put it first
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  sleep 0.5
  psql -h "$HOST" -p "$PORT" -U postgres -d postgres -w -Atc 'SELECT 1' >/dev/null
fi

if [ "$(psql -h "$HOST" -p "$PORT" -U postgres -d postgres -w -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
  echo "ci-postgres: creating database test" >&2
  psql -h "$HOST" -p "$PORT" -U postgres -d postgres -w -c 'CREATE DATABASE test' >/dev/null
fi
echo "ci-postgres: ready at postgres://postgres@$HOST:$PORT/test" >&2
