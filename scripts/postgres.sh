#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers for Tether's PostgreSQL tests (issue #14,
# specs/scale-out.md), installing Debian's `postgresql` and starting a cluster of our own when
# needed. Idempotent: with the server up it only checks it and exits 0.
#
# The cluster is Tether's own (never the system's): its own data dir and port, trust auth on
# 127.0.0.1 only, run as the `postgres` user (initdb and postgres refuse root).
#
#   TETHER_PG_DIR    cluster data dir   (default /var/lib/tether-postgres)
#   TETHER_PG_PORT   port on 127.0.0.1  (default 55432)
#   TETHER_PG_LOG    server log file    (default /var/log/tether-postgres.log)
#
# Prints `TETHER_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:<port>/postgres` on success.
set -euo pipefail

dir="${TETHER_PG_DIR:-/var/lib/tether-postgres}"
port="${TETHER_PG_PORT:-55432}"
logfile="${TETHER_PG_LOG:-/var/log/tether-postgres.log}"
sockdir="/run/tether-postgres"
url="postgres://postgres@127.0.0.1:${port}/postgres"

say() { printf 'postgres: %s\n' "$*" >&2; }

pg_bin() {
  # The newest installed major version's tools (Debian keeps them off PATH).
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$d" ] && [ -x "$d/pg_ctl" ] && echo "$d"
}

server_up() {
  local bin
  bin="$(pg_bin)" || return 1
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" >/dev/null 2>&1
}

if server_up; then
  echo "TETHER_TEST_DATABASE_URL=${url}"
  exit 0
fi

# Test files run in parallel: only one of them installs and starts the server, the others wait.
mkdir -p "$(dirname "$dir")"
exec 9>"${dir}.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if server_up; then
  echo "TETHER_TEST_DATABASE_URL=${url}"
  exit 0
fi

if ! pg_bin >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    say "PostgreSQL is not installed and we are not root: install it (apt-get install -y postgresql)"
    exit 1
  fi
  say "installing Debian's postgresql"
  apt-get update -qq
  # policy-rc.d 101: the package must not start the system's own cluster (we run ours).
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
bin="$(pg_bin)" || { say "pg_ctl is missing after the install"; exit 1; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mkdir -p "$dir" "$sockdir" "$(dirname "$logfile")"
touch "$logfile"
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir" "$sockdir" "$logfile"; chmod 700 "$dir"; fi
if [ ! -f "$dir/PG_VERSION" ]; then
  say "creating a cluster in ${dir}"
  as_postgres "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
# A server killed with its machine's session leaves postmaster.pid behind. PostgreSQL ignores one
# whose pid is dead, but refuses to start when that pid now belongs to another process: drop it
# unless a postgres process still owns it.
pidfile="$dir/postmaster.pid"
if [ -f "$pidfile" ]; then
  oldpid="$(head -1 "$pidfile" 2>/dev/null || true)"
  if [ -z "$oldpid" ] || [ "$(cat "/proc/${oldpid}/comm" 2>/dev/null || true)" != postgres ]; then
    rm -f "$pidfile"
  fi
fi
say "starting PostgreSQL on 127.0.0.1:${port} (data ${dir}, log ${logfile})"
as_postgres "$bin/pg_ctl" -D "$dir" -l "$logfile" -w -t 60 \
  -o "-p ${port} -k ${sockdir} -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
  || { say "PostgreSQL did not start; last log lines:"; tail -n 20 "$logfile" >&2 || true; exit 1; }

for _ in $(seq 1 60); do
  if server_up; then
    echo "TETHER_TEST_DATABASE_URL=${url}"
    exit 0
  fi
  sleep 0.5
done
say "PostgreSQL did not answer on 127.0.0.1:${port} within 30 s; last log lines:"
tail -n 20 "$logfile" >&2 || true
exit 1
