#!/usr/bin/env bash
# Builds Pebble (Let's Encrypt's ACME test server, for irsa issuer serve --acme-*) from the Go module
# proxy into a cache outside the repository. Re-runs are a no-op once the pinned binary exists.
# Usage: build-pebble.sh (prints the bin dir); build-pebble.sh --where (prints it, builds nothing).
set -euo pipefail
PEBBLE_VERSION="${PEBBLE_VERSION:-v2.10.3}"
CACHE="${IRSA_PEER_CACHE:-$HOME/.cache/irsa-anywhere/peers}"
OUT="$CACHE/pebble-$PEBBLE_VERSION"
if [ "${1:-}" = "--where" ]; then echo "$OUT/bin"; exit 0; fi
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-buildvcs=false
if [ -x "$OUT/bin/pebble" ]; then echo "$OUT/bin"; exit 0; fi
command -v go >/dev/null || { echo "build-pebble: Go is required to build Pebble (apt-get install golang or use the machine's Go)" >&2; exit 1; }
start=$(date +%s)
mkdir -p "$OUT/tmp"
GOBIN="$OUT/tmp" nice -n 10 go install -trimpath -ldflags "-s -w" "github.com/letsencrypt/pebble/v2/cmd/pebble@$PEBBLE_VERSION"
mkdir -p "$OUT/bin"
mv "$OUT/tmp/pebble" "$OUT/bin/pebble"
rmdir "$OUT/tmp"
echo "build-pebble: pebble $PEBBLE_VERSION built in $(( $(date +%s) - start ))s" >&2
echo "$OUT/bin"
