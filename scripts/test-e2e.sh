#!/usr/bin/env bash
# End-to-end tier: the real peers (kube-apiserver + etcd, MinIO, moto, the AWS CLI), started and stopped
# by the tests on loopback. Expects `scripts/setup.sh` first; fails, saying how to build them, if a peer is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
bash test/peers/build-all.sh --check
e2e() { node --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 "$@"; }
echo "== e2e, kube-apiserver from $(bash test/peers/build-kube.sh --where)"
e2e 'dist/test/e2e/**/*.test.js'
# The compatibility matrix: the webhook, irsa init's flags and irsa up against the other
# kube-apiserver versions (test/peers/build-kube.sh --matrix).
for v in $(bash test/peers/build-kube.sh --matrix); do
  echo "== e2e, kube-apiserver $v (matrix)"
  K8S_VERSION="$v" e2e dist/test/e2e/webhook.test.js dist/test/e2e/webhook-registration.test.js \
    dist/test/e2e/webhook-hardening.test.js dist/test/e2e/init.test.js dist/test/e2e/up.test.js
done
