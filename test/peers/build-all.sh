#!/usr/bin/env bash
# Builds every e2e test peer that is missing, in a cache outside the repository, and prints how long
# each took: kube-apiserver + etcd, MinIO, upstream's pod-identity webhook (the differential test's
# peer; its source from IRSA_UPSTREAM_WEBHOOK_SRC when set), Pebble (ACME), helm (renders the chart),
# and the Python venv (moto server, the AWS CLI).
# Usage: build-all.sh           build what is missing (cached peers cost nothing)
#        build-all.sh --check   build nothing; fail, saying how to build them, if any peer is missing
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kube_bin="$(bash "$here/build-kube.sh" --where)"
minio_bin="$(bash "$here/build-minio.sh" --where)"
upstream_bin="$(bash "$here/build-upstream-webhook.sh" --where)"
pebble_bin="$(bash "$here/build-pebble.sh" --where)"
helm_bin="$(bash "$here/build-helm.sh" --where)"
py_dir="$(bash "$here/setup-python.sh" --where)"
have_kube() { [ -x "$kube_bin/kube-apiserver" ] && [ -x "$kube_bin/etcd" ]; }
# The e2e tier's compatibility matrix: more kube-apiserver versions (build-kube.sh --matrix).
matrix="$(bash "$here/build-kube.sh" --matrix)"
matrix_bin() { K8S_VERSION="$1" bash "$here/build-kube.sh" --where; }
have_matrix_kube() { local b; b="$(matrix_bin "$1")"; [ -x "$b/kube-apiserver" ] && [ -x "$b/etcd" ]; }
have_minio() { [ -x "$minio_bin/minio" ]; }
have_upstream() { [ -x "$upstream_bin/amazon-eks-pod-identity-webhook" ]; }
have_pebble() { [ -x "$pebble_bin/pebble" ]; }
have_helm() { [ -x "$helm_bin/helm" ]; }
have_python() { [ -f "$py_dir/.complete" ] && [ -x "$py_dir/bin/moto_server" ] && [ -x "$py_dir/bin/aws" ]; }

if [ "${1:-}" = "--check" ]; then
  missing=()
  have_kube || missing+=("kube-apiserver and etcd (expected in $kube_bin; bash test/peers/build-kube.sh)")
  have_minio || missing+=("MinIO (expected in $minio_bin; bash test/peers/build-minio.sh)")
  have_upstream || missing+=("upstream's webhook (expected in $upstream_bin; bash test/peers/build-upstream-webhook.sh, with IRSA_UPSTREAM_WEBHOOK_SRC=<source tarball> where the Go module proxy refuses the module)")
  have_pebble || missing+=("Pebble (expected in $pebble_bin; bash test/peers/build-pebble.sh)")
  have_helm || missing+=("helm (expected in $helm_bin; bash test/peers/build-helm.sh)")
  have_python || missing+=("moto and the AWS CLI (expected venv $py_dir; bash test/peers/setup-python.sh)")
  for v in $matrix; do
    have_matrix_kube "$v" || missing+=("kube-apiserver and etcd $v for the version matrix (expected in $(matrix_bin "$v"); K8S_VERSION=$v bash test/peers/build-kube.sh)")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "e2e test peers are missing:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    echo "build them all with: bash test/peers/build-all.sh (scripts/setup.sh runs it too)" >&2
    exit 1
  fi
  exit 0
fi

now() { date +%s.%N; }
step() { # name, check function, script
  local name="$1" check="$2" script="$3" t0 out
  if "$check"; then
    echo "peers: $name: cached ($(bash "$here/$script" --where))"
    return
  fi
  echo "peers: $name: building (bash test/peers/$script) ..."
  t0="$(now)"
  out="$(bash "$here/$script")"
  echo "peers: $name: built in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')s ($out)"
}
start="$(now)"
step "kube-apiserver + etcd" have_kube build-kube.sh
for v in $matrix; do
  if have_matrix_kube "$v"; then
    echo "peers: kube-apiserver + etcd $v (matrix): cached ($(matrix_bin "$v"))"
    continue
  fi
  echo "peers: kube-apiserver + etcd $v (matrix): building (K8S_VERSION=$v bash test/peers/build-kube.sh) ..."
  t0="$(now)"
  out="$(K8S_VERSION="$v" bash "$here/build-kube.sh")"
  echo "peers: kube-apiserver + etcd $v (matrix): built in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')s ($out)"
done
step "minio" have_minio build-minio.sh
step "upstream webhook" have_upstream build-upstream-webhook.sh
step "pebble" have_pebble build-pebble.sh
step "helm" have_helm build-helm.sh
step "moto + aws cli venv" have_python setup-python.sh
echo "peers: ready in $(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')s"
