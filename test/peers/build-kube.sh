#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into a cache outside the repository.
# Re-runs are a no-op once the pinned binaries exist.
# Usage: build-kube.sh (prints the bin dir); build-kube.sh --where (prints it, builds nothing);
#        build-kube.sh --matrix (prints the other versions the e2e tier runs against, builds nothing).
# K8S_VERSION picks the version (default below); each version has its own cache dir.
set -euo pipefail
# The compatibility matrix: besides the default, the newest release the Go module proxy serves and
# an older minor that k3s and RKE2 fleets still run. IRSA_K8S_MATRIX (even empty) replaces it.
K8S_MATRIX="${IRSA_K8S_MATRIX-v1.37.2 v1.33.13}"
if [ "${1:-}" = "--matrix" ]; then echo "$K8S_MATRIX"; exit 0; fi
K8S_VERSION="${K8S_VERSION:-v1.36.3}"
CACHE="${IRSA_PEER_CACHE:-$HOME/.cache/irsa-anywhere/peers}"
OUT="$CACHE/kube-$K8S_VERSION"
if [ "${1:-}" = "--where" ]; then echo "$OUT/bin"; exit 0; fi
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-buildvcs=false
export GONOSUMDB="${GONOSUMDB:-k8s.io,sigs.k8s.io,go.etcd.io}"
if [ -x "$OUT/bin/kube-apiserver" ] && [ -x "$OUT/bin/etcd" ]; then echo "$OUT/bin"; exit 0; fi
command -v go >/dev/null || { echo "build-kube: Go is required to build kube-apiserver and etcd (apt-get install golang or use the machine's Go)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "build-kube: python3 is required" >&2; exit 1; }
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
staging="v0.${K8S_VERSION#v1.}"
mkdir -p "$OUT/kas" "$OUT/etcd" "$OUT/bin"
start=$(date +%s)

if [ ! -x "$OUT/bin/kube-apiserver" ]; then
  cd "$OUT/kas"; rm -f go.mod go.sum
  go mod init irsa-peers.local/kas >/dev/null 2>&1
  upstream_mod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  go mod edit -json "$upstream_mod" > upstream.json
  python3 - "$staging" > edits.txt <<'PY'
import json, sys
v = sys.argv[1]; d = json.load(open("upstream.json"))
req = d.get("Require") or []; rep = d.get("Replace") or []
mods = {r["Path"] for r in req if r["Path"].startswith("k8s.io/") and r["Version"] == "v0.0.0"}
mods |= {r["Old"]["Path"] for r in rep if r["New"]["Path"].startswith("./staging/")}
for m in sorted(mods): print(f"-replace={m}={m}@{v}")
for g in d.get("Godebug") or []: print(f"-godebug={g['Key']}={g['Value']}")
etcd = next((r["Version"] for r in req if r["Path"] == "go.etcd.io/etcd/client/v3"), "")
open("etcd-version.txt", "w").write(etcd)
PY
  xargs go mod edit < edits.txt
  go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION"
  go build -trimpath -tags notest,grpcnotrace \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    -o "$OUT/bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$OUT/bin/kube-apiserver.tmp" "$OUT/bin/kube-apiserver"
  echo "build-kube: kube-apiserver built in $(( $(date +%s) - start ))s" >&2
fi

if [ ! -x "$OUT/bin/etcd" ]; then
  ETCD_VERSION="${ETCD_VERSION:-$(cat "$OUT/kas/etcd-version.txt")}"
  cd "$OUT/etcd"; rm -f go.mod go.sum
  go mod init irsa-peers.local/etcd >/dev/null 2>&1
  go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$OUT/bin/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$OUT/bin/etcd.tmp" "$OUT/bin/etcd"
  echo "build-kube: etcd $ETCD_VERSION built, total $(( $(date +%s) - start ))s" >&2
fi
echo "$OUT/bin"
