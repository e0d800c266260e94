#!/usr/bin/env bash
# Makes sure a Docker engine answers on Tether's socket (default unix:///run/tether-docker.sock),
# installing docker.io from Debian and starting dockerd when needed. Idempotent: a second run
# with the engine already up only checks it and exits 0.
#
# The flags suit a machine without a registry, systemd or iptables (CI containers, this dev box):
#   vfs storage (works on any filesystem, incl. overlay-in-overlay), no iptables, no default bridge
#   (worker containers run with no network and reach Tether through a mounted unix socket), its
#   own socket and data root so it never clashes with a system Docker.
#
#   TETHER_DOCKER_SOCK   socket path            (default /run/tether-docker.sock)
#   TETHER_DOCKER_ROOT   engine data root       (default /var/lib/tether-docker)
#   TETHER_DOCKER_LOG    dockerd log file       (default /var/log/tether-dockerd.log)
#
# Prints `DOCKER_HOST=unix://<sock>` on success, so callers can `eval "$(scripts/docker-engine.sh | tail -1)"`.
set -euo pipefail

sock="${TETHER_DOCKER_SOCK:-/run/tether-docker.sock}"
root="${TETHER_DOCKER_ROOT:-/var/lib/tether-docker}"
logfile="${TETHER_DOCKER_LOG:-/var/log/tether-dockerd.log}"
host="unix://${sock}"

say() { printf 'docker-engine: %s\n' "$*" >&2; }

engine_up() {
  # `docker version` contacts the daemon; its server part fails when no engine answers.
  docker -H "$host" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if engine_up; then
  echo "DOCKER_HOST=${host}"
  exit 0
fi

# Test files run in parallel: only one of them installs and starts the engine, the others wait.
mkdir -p "$(dirname "$root")"
exec 9>"${root}.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if engine_up; then
  echo "DOCKER_HOST=${host}"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    say "dockerd is not installed and we are not root: install docker.io (apt-get install -y docker.io)"
    exit 1
  fi
  say "installing docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi
if ! command -v docker >/dev/null 2>&1; then
  say "the docker CLI is missing after install"
  exit 1
fi

# A stale socket or pid file from a killed engine blocks a new one.
pidfile="${root}.pid"
if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  rm -f "$pidfile"
fi
if [ -f "$pidfile" ]; then
  say "dockerd (pid $(cat "$pidfile")) is starting; waiting for it"
else
  rm -f "$sock"
  mkdir -p "$root" "$(dirname "$logfile")"
  say "starting dockerd on ${host} (data root ${root}, log ${logfile})"
  setsid nohup dockerd \
    --storage-driver=vfs \
    --iptables=false \
    --ip6tables=false \
    --bridge=none \
    --host="$host" \
    --data-root="$root" \
    --exec-root="${root}-exec" \
    --pidfile="$pidfile" \
    >>"$logfile" 2>&1 </dev/null 9>&- &
fi

for _ in $(seq 1 120); do
  if engine_up; then
    echo "DOCKER_HOST=${host}"
    exit 0
  fi
  sleep 0.5
done
say "dockerd did not answer on ${host} within 60 s; last log lines:"
tail -n 20 "$logfile" >&2 || true
exit 1
