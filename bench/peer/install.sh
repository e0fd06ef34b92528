#!/bin/sh
# Install the benchmark's peer (PostGraphile v4) and load tool (autocannon) exactly as locked.
#   bench/peer/install.sh        (or: python -m bench.compare --install)
# node_modules/ lands next to this script and is git-ignored.
set -eu
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "install.sh: needs node and npm (Node 20)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
node -e 'for (const p of ["postgraphile", "autocannon"]) console.log(p, require(p + "/package.json").version)'
