#!/usr/bin/env bash
# Integration tier: components against local servers. Expects `scripts/setup.sh` (or npm ci && npm run build) first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
if [ ! -d dist/test/integration ]; then echo "integration: no tests in test/integration"; exit 0; fi
exec node --test --test-reporter=spec --test-concurrency=1 --test-timeout=300000 'dist/test/integration/**/*.test.js'
