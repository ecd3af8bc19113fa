#!/usr/bin/env bash
# The main job on its embedded default: set everything up, then generate a signing key and print
# the kid, the discovery document and the JWKS a cluster using it would serve.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
irsa() { node dist/src/cli/main.js "$@"; }
issuer="${IRSA_ISSUER:-https://oidc.example.com/local}"
irsa keys generate --out "$work/keys"
echo "== discovery document for $issuer"
irsa discovery --issuer "$issuer" --key "$work/keys/sa.pub"
echo "== JWKS"
irsa jwks --key "$work/keys/sa.pub"
