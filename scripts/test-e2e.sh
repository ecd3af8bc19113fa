#!/usr/bin/env bash
# End-to-end tier: the real peers (kube-apiserver + etcd, MinIO, moto, the AWS CLI), started and stopped
# by the tests on loopback. Expects `scripts/setup.sh` first; fails, saying how to build them, if a peer is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
bash test/peers/build-all.sh --check
exec node --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 --test-force-exit 'dist/test/e2e/**/*.test.js'
