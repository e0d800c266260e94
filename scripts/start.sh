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
npx vite build --logLevel warn
exec npx tsx src/server/main.ts
