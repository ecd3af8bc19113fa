#!/usr/bin/env bash
# Everything a fresh Debian machine needs: Debian packages, npm packages, the build, and the test
# peers (kube-apiserver, etcd, MinIO, moto, the AWS CLI), cached outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
need_apt=()
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3 python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi
command -v go >/dev/null || { echo "setup: Go >= 1.26 is needed to build the test peers (kube-apiserver, etcd, MinIO)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
# The e2e test peers (kube-apiserver + etcd, MinIO, moto + the AWS CLI), built once into
# ~/.cache/irsa-anywhere/peers and skipped when present; prints what it builds and how long it took.
bash test/peers/build-all.sh
