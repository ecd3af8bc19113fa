#!/usr/bin/env bash
# Builds upstream's webhook (aws/amazon-eks-pod-identity-webhook), the peer of the differential test,
# into a cache outside the repository. Re-runs are a no-op once the pinned binary exists.
# Source: the archive named by IRSA_UPSTREAM_WEBHOOK_SRC when set (a `git archive` tarball of the
# pinned commit; .ci/run sets it when such an archive lies beside the clone), else `go install` of the pinned module
# version from the Go module proxy (what a machine with normal internet access gets).
# Usage: build-upstream-webhook.sh (prints the bin dir); build-upstream-webhook.sh --where (prints
# it, builds nothing).
set -euo pipefail
# Commit 3bf80a348116483b2162190e43232e4d243f76c4 (v0.6.17 + 5 commits, 2026-08-11 01:25:31 UTC).
UPSTREAM_WEBHOOK_VERSION="${UPSTREAM_WEBHOOK_VERSION:-v0.6.18-0.20260811012531-3bf80a348116}"
CACHE="${IRSA_PEER_CACHE:-$HOME/.cache/irsa-anywhere/peers}"
OUT="$CACHE/upstream-webhook-$UPSTREAM_WEBHOOK_VERSION"
BIN=amazon-eks-pod-identity-webhook
if [ "${1:-}" = "--where" ]; then echo "$OUT/bin"; exit 0; fi
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-buildvcs=false
if [ -x "$OUT/bin/$BIN" ]; then echo "$OUT/bin"; exit 0; fi
command -v go >/dev/null || { echo "build-upstream-webhook: Go is required to build upstream's webhook (apt-get install golang or use the machine's Go)" >&2; exit 1; }
start=$(date +%s)
rm -rf "$OUT/tmp"
mkdir -p "$OUT/tmp" "$OUT/bin"
src="${IRSA_UPSTREAM_WEBHOOK_SRC:-}"
if [ -n "$src" ]; then
  [ -f "$src" ] || { echo "build-upstream-webhook: IRSA_UPSTREAM_WEBHOOK_SRC=$src is not a file" >&2; exit 1; }
  commit="${UPSTREAM_WEBHOOK_VERSION##*-}"
  # git archive records the commit in the tarball's pax global header, the first 1 KiB.
  header="$( (gzip -dc "$src" | head -c 1024 | tr -d '\0') 2>/dev/null || true)"
  case "$header" in
    *"comment=$commit"*) ;;
    *) echo "build-upstream-webhook: $src is not a git archive of commit $commit (pinned $UPSTREAM_WEBHOOK_VERSION)" >&2; exit 1 ;;
  esac
  tar -xzf "$src" -C "$OUT/tmp"
  dir="$(find "$OUT/tmp" -mindepth 2 -maxdepth 2 -name go.mod -printf '%h\n' | head -n 1)"
  [ -n "$dir" ] || { echo "build-upstream-webhook: no go.mod in $src" >&2; exit 1; }
  (cd "$dir" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$OUT/bin/$BIN.tmp" .)
  echo "build-upstream-webhook: built from $src" >&2
else
  GOBIN="$OUT/tmp" nice -n 10 go install -trimpath -ldflags "-s -w" "github.com/aws/amazon-eks-pod-identity-webhook@$UPSTREAM_WEBHOOK_VERSION"
  mv "$OUT/tmp/$BIN" "$OUT/bin/$BIN.tmp"
fi
mv "$OUT/bin/$BIN.tmp" "$OUT/bin/$BIN"
rm -rf "$OUT/tmp"
echo "build-upstream-webhook: $UPSTREAM_WEBHOOK_VERSION built in $(( $(date +%s) - start ))s" >&2
echo "$OUT/bin"
