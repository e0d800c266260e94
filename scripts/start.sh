#!/usr/bin/env bash
# `npm start`: on a fresh clone, install, build and serve the product on its embedded defaults
# (SQLite file under ./data, process workers) at http://$HOST:$PORT (127.0.0.1:3000).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# Collaborators' terminals and the agent's shell tool run inside bubblewrap (specs/security.md).
if ! command -v bwrap >/dev/null 2>&1 && [ "${TETHER_SANDBOX:-bwrap}" = bwrap ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap
  else
    echo "warning: bubblewrap (bwrap) is not installed: terminals and the shell tool will refuse to run." >&2
    echo "         install it (apt-get install bubblewrap) or set TETHER_SANDBOX=off to run them unsandboxed." >&2
  fi
fi
# Build only when the sources changed since the last build (or TETHER_REBUILD=1), so a restart
# after a crash serves again in a couple of seconds instead of rebuilding for 20-30 s.
stamp=dist/.build-stamp
if [ "${TETHER_REBUILD:-0}" = 1 ] || [ ! -f "$stamp" ] || [ ! -f dist/main/main.mjs ] ||
  [ -n "$(find src vite.config.ts tsconfig.json package-lock.json -newer "$stamp" -print -quit)" ]; then
  rm -f "$stamp"
  npx vite build --logLevel warn
  # The entry itself, bundled (npm packages stay external), so start-up runs plain node, not tsx.
  npx esbuild src/server/main.ts --bundle --platform=node --format=esm --packages=external \
    --outfile=dist/main/main.mjs --log-level=warning
  touch "$stamp"
fi
exec node dist/main/main.mjs
