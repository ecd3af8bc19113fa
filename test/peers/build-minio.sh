#!/usr/bin/env bash
# Builds MinIO (the test STS that really verifies web-identity tokens) from the Go module proxy into
# a cache outside the repository. Re-runs are a no-op once the pinned binary exists.
# Usage: build-minio.sh (prints the bin dir); build-minio.sh --where (prints it, builds nothing).
set -euo pipefail
# The last upstream commit (master, 2026-02-12): the proxy serves it; the RELEASE.2025-10-15 tag's
# pseudo-version is refused there.
MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
CACHE="${IRSA_PEER_CACHE:-$HOME/.cache/irsa-anywhere/peers}"
OUT="$CACHE/minio-$MINIO_VERSION"
if [ "${1:-}" = "--where" ]; then echo "$OUT/bin"; exit 0; fi
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-buildvcs=false
if [ -x "$OUT/bin/minio" ]; then echo "$OUT/bin"; exit 0; fi
command -v go >/dev/null || { echo "build-minio: Go is required to build MinIO (apt-get install golang or use the machine's Go)" >&2; exit 1; }
start=$(date +%s)
mkdir -p "$OUT/tmp"
GOBIN="$OUT/tmp" nice -n 10 go install -trimpath -tags kqueue -ldflags "-s -w" "github.com/minio/minio@$MINIO_VERSION"
mkdir -p "$OUT/bin"
mv "$OUT/tmp/minio" "$OUT/bin/minio"
rmdir "$OUT/tmp"
echo "build-minio: minio $MINIO_VERSION built in $(( $(date +%s) - start ))s" >&2
echo "$OUT/bin"
