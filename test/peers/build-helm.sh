#!/usr/bin/env bash
# Builds helm (the chart tests render deploy/helm/irsa-anywhere with it) from the Go module proxy into
# a cache outside the repository. Re-runs are a no-op once the pinned binary exists.
# Usage: build-helm.sh (prints the bin dir); build-helm.sh --where (prints it, builds nothing).
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE="${IRSA_PEER_CACHE:-$HOME/.cache/irsa-anywhere/peers}"
OUT="$CACHE/helm-$HELM_VERSION"
if [ "${1:-}" = "--where" ]; then echo "$OUT/bin"; exit 0; fi
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-buildvcs=false
if [ -x "$OUT/bin/helm" ]; then echo "$OUT/bin"; exit 0; fi
command -v go >/dev/null || { echo "build-helm: Go is required to build helm (apt-get install golang or use the machine's Go)" >&2; exit 1; }
start=$(date +%s)
mkdir -p "$OUT/tmp"
# helm's go.mod has no replace directives, so go install builds it as released. Stamped as helm's
# own Makefile does: its version, and the Kubernetes version `helm template` assumes without
# --kube-version (one minor above its client-go, e.g. v1.37 for client-go v0.37; unstamped it
# would be v1.20).
K8S_MINOR="${HELM_K8S_MINOR:-37}"
pkg=helm.sh/helm/v3
GOBIN="$OUT/tmp" nice -n 10 go install -trimpath \
  -ldflags "-s -w -X $pkg/internal/version.version=$HELM_VERSION \
    -X $pkg/pkg/chartutil.k8sVersionMajor=1 -X $pkg/pkg/chartutil.k8sVersionMinor=$K8S_MINOR \
    -X $pkg/pkg/lint/rules.k8sVersionMajor=1 -X $pkg/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR" \
  "$pkg/cmd/helm@$HELM_VERSION"
mkdir -p "$OUT/bin"
mv "$OUT/tmp/helm" "$OUT/bin/helm"
rmdir "$OUT/tmp"
echo "build-helm: helm $HELM_VERSION built in $(( $(date +%s) - start ))s" >&2
echo "$OUT/bin"
