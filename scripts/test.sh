#!/usr/bin/env bash
# The one test command (`npm test`): prepares what the suite needs on a fresh machine
# (node modules, Debian chromium, docker.io + a running engine, a production build), then runs
# every test once and prints a closing "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing node modules (npm ci)"
  npm ci --no-audit --no-fund
fi

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

if ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian chromium for the browser tests"
  apt_install chromium fonts-dejavu-core
fi

if ! command -v bwrap >/dev/null 2>&1; then
  log "installing bubblewrap (the process runtime's sandbox for shell tools and terminals)"
  apt_install bubblewrap
fi

if ! command -v vim >/dev/null 2>&1 || ! command -v less >/dev/null 2>&1 || ! command -v top >/dev/null 2>&1; then
  log "installing vim, less and top (full-screen programs the terminal tests run in the sandbox)"
  apt_install vim less procps
fi

if [ -f scripts/docker-engine.sh ]; then
  log "starting the Docker engine for the container tests"
  bash scripts/docker-engine.sh
fi

log "starting PostgreSQL for the PostgreSQL tests (Debian's postgresql, a cluster of our own on 127.0.0.1:55432)"
bash scripts/postgres.sh

log "building the production app (the conformance suite also runs through it)"
npx vite build --logLevel warn

# Types and lint first: the run fails on either, and says which (the suite still runs, so one
# failing check does not hide test results).
checks_failed=()
log "type-checking (tsc --noEmit)"
npx tsc --noEmit -p . || checks_failed+=("tsc --noEmit")
log "linting (biome lint)"
npx biome lint --max-diagnostics=50 || checks_failed+=("biome lint")

mkdir -p test-results
log "running the test suite"
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
status=$?
set -e

if [ -f test-results/vitest.json ]; then
  node -e '
    const r = require("./test-results/vitest.json");
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(`\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  '
fi
if [ ${#checks_failed[@]} -gt 0 ]; then
  printf '\nFAILED checks: %s\n' "${checks_failed[*]}"
  [ "$status" = 0 ] && status=1
fi
exit $status
