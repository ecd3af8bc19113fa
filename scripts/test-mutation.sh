#!/usr/bin/env bash
# Mutation testing (StrykerJS) of the core and the webhook's decision and cache code against the
# unit tests: each mutant is run only against the compiled unit test files that cover it.
# Slow (see docs/testing.md), so not part of scripts/test.sh.
#   bash scripts/test-mutation.sh                          every configured file
#   bash scripts/test-mutation.sh src/core/oidc/url.ts ... only these files (globs and file:line-line work)
# Reports: reports/mutation/index.html and mutation.json. STRYKER_CONCURRENCY overrides the default 2.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
args=()
if [ "$#" -gt 0 ]; then
  mutate="$(IFS=,; echo "$*")"
  args+=(--mutate "$mutate")
fi
# The large fuzz runs (100,000 STS requests) at 2 %: every mutant of the STS runs that file again.
export IRSA_FUZZ_SCALE="${IRSA_FUZZ_SCALE:-0.02}"
exec npx stryker run stryker.config.json --concurrency "${STRYKER_CONCURRENCY:-2}" "${args[@]}"
