#!/usr/bin/env bash
# The main job on its embedded default, the local stack: sets everything up, then runs the whole
# IRSA chain on loopback (kube-apiserver with an irsa key, irsa webhook, a mutated pod, its token,
# MinIO as the STS, AWS credentials for the app through the AWS SDK). Pass --keep to leave it up.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
bash scripts/setup.sh
bash test/peers/build-all.sh --check
exec node dist/scripts/local-stack.js "$@"
