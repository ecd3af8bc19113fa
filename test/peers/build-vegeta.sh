#!/usr/bin/env bash
# Builds vegeta (tsenart/vegeta), the HTTP load generator of bench/webhook.ts, from the Go module
# proxy into a cache outside the repository. Vegeta sends at a fixed rate whatever the answers'
# latency (an open model), so its latencies have no coordinated omission. Not in build-all.sh: no
# test needs it; the benchmark builds it when missing. Re-runs are a no-op once the binary exists.
# Usage: build-vegeta.sh (prints the bin dir); build-vegeta.sh --where (prints it, builds nothing).
set -euo pipefail
VEGETA_VERSION="${VEGETA_VERSION:-v12.13.0}"
CACHE="${IRSA_PEER_CACHE:-$HOME/.cache/irsa-anywhere/peers}"
OUT="$CACHE/vegeta-$VEGETA_VERSION"
if [ "${1:-}" = "--where" ]; then echo "$OUT/bin"; exit 0; fi
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-buildvcs=false
if [ -x "$OUT/bin/vegeta" ]; then echo "$OUT/bin"; exit 0; fi
command -v go >/dev/null || { echo "build-vegeta: Go is required to build vegeta (apt-get install golang or use the machine's Go)" >&2; exit 1; }
start=$(date +%s)
rm -rf "$OUT/tmp"
mkdir -p "$OUT/tmp" "$OUT/bin"
GOBIN="$OUT/tmp" nice -n 10 go install -trimpath -ldflags "-s -w" "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
mv "$OUT/tmp/vegeta" "$OUT/bin/vegeta"
rm -rf "$OUT/tmp"
echo "build-vegeta: vegeta $VEGETA_VERSION built in $(( $(date +%s) - start ))s" >&2
echo "$OUT/bin"
