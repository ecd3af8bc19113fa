#!/usr/bin/env bash
# Renders the plain manifests in deploy/ from the Helm chart deploy/helm/irsa-anywhere, so that
# `kubectl apply -f deploy/webhook.yaml` installs what `helm install` would. The chart is the
# source: edit it, then run this (test/e2e/helm-chart.test.ts fails when the two drift).
# helm comes from test/peers/build-helm.sh (built from the Go module proxy when missing).
# Usage: render-manifests.sh            write deploy/*.yaml
#        render-manifests.sh --out DIR  write them into DIR instead
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/deploy"
if [ "${1:-}" = "--out" ]; then out="${2:?--out needs a directory}"; fi
helm="$(bash "$root/test/peers/build-helm.sh")/helm"
chart="$root/deploy/helm/irsa-anywhere"
# The Kubernetes version the manifests are rendered for (the chart's kubeVersion allows >= 1.29).
kube_version=1.36.0

render() { # file, description, helm flags...
  local file="$1" what="$2"
  shift 2
  {
    echo "# $what"
    echo "# Rendered from deploy/helm/irsa-anywhere by scripts/render-manifests.sh; do not edit: change"
    echo "# the chart (or its values with helm install), then run the script."
    "$helm" template irsa-anywhere "$chart" --namespace irsa-anywhere --kube-version "$kube_version" \
      --set createNamespace=true "$@"
  } > "$out/$file.tmp"
  mv "$out/$file.tmp" "$out/$file"
}

render webhook.yaml \
  "The webhook with its own TLS (no cert-manager): kubectl apply -f deploy/webhook.yaml"
render webhook-cert-manager.yaml \
  "The webhook with its serving certificate from cert-manager (installed first): kubectl apply -f deploy/webhook-cert-manager.yaml" \
  --set webhook.tls.mode=cert-manager
render issuer.yaml \
  "The issuer sync (edit the bucket, prefix, public issuer and region first): kubectl apply -f deploy/issuer.yaml" \
  --set webhook.enabled=false --set issuer.enabled=true \
  --set issuer.publicIssuer=https://my-oidc-bucket.s3.eu-west-1.amazonaws.com/cluster-1 \
  --set issuer.to=s3://my-oidc-bucket/cluster-1 \
  --set-json 'issuer.env=[{"name":"AWS_REGION","value":"eu-west-1"}]' \
  --set issuer.awsCredentialsSecret=issuer-aws-credentials
