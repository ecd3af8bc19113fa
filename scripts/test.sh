#!/usr/bin/env bash
# Installs everything a fresh machine needs, then runs every check and test tier:
# format, type-checked lint, unit, integration, e2e. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
bash scripts/setup.sh
echo "== format"; npx prettier --check . >/dev/null && echo "prettier: ok"
echo "== lint"; npx eslint . --max-warnings 0 && echo "eslint: ok"
echo "== unit"; bash scripts/test-unit.sh
echo "== integration"; bash scripts/test-integration.sh
echo "== e2e"; bash scripts/test-e2e.sh
