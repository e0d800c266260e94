#!/usr/bin/env bash
# `npm start`: on a fresh clone, install, build and serve the product on its embedded defaults
# (SQLite file under ./data, process workers) at http://$HOST:$PORT (127.0.0.1:3000).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx vite build --logLevel warn
exec npx tsx src/server/main.ts
