#!/usr/bin/env bash
# The main job on its embedded default, the local stack: sets everything up, then runs the whole
# IRSA chain on loopback with `irsa up --once` (kube-apiserver with an irsa key, irsa webhook, a
# mutated pod, its token, irsa sts serve as the STS, AWS credentials for the app through the AWS
# SDK) and exits. Pass --keep to leave it running until Ctrl-C (`irsa up`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node.sh
bash scripts/setup.sh
bash test/peers/build-all.sh --check
# The peer build scripts are the single source of the peers' versions and cache paths; the stack
# (src/stack/peers.ts) reads these variables. Ones already set win, to run other binaries.
kube_bin="$(bash test/peers/build-kube.sh --where)"
export IRSA_KUBE_APISERVER="${IRSA_KUBE_APISERVER:-$kube_bin/kube-apiserver}"
export IRSA_ETCD="${IRSA_ETCD:-$kube_bin/etcd}"
export IRSA_MINIO="${IRSA_MINIO:-$(bash test/peers/build-minio.sh --where)/minio}"
up_args=(--once)
for a in "$@"; do
  case "$a" in
    --keep) up_args=() ;;
    *) echo "local-stack.sh: unknown argument \"$a\" (only --keep: leave the stack running until Ctrl-C)" >&2; exit 2 ;;
  esac
done
exec node dist/src/cli/main.js up "${up_args[@]}"
