#!/usr/bin/env bash
# Unit tier: the pure core and the CLI, no peers. Expects `scripts/setup.sh` (or npm ci && npm run build) first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
exec node --test --test-reporter=spec --test-timeout=120000 --test-force-exit 'dist/test/unit/**/*.test.js'
