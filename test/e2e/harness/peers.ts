/**
 * Where the built peers live. The build scripts in test/peers are the single source of the pinned
 * versions and cache paths (`--where` prints a peer's location without building it); the local
 * stack gets the same paths through environment variables (scripts/local-stack.sh) or looks in the
 * same cache (src/stack/peers.ts). A missing peer
 * is an error that says how to build it: the e2e tier never skips.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../support/paths.js";

export { REPO_ROOT };
export { IRSA_CLI, irsaCliPath as requireIrsaCli } from "../../../src/stack/peers.js";

export class MissingPeerError extends Error {
  override readonly name = "MissingPeerError";
}

function where(script: string): string {
  const r = spawnSync("bash", [join(REPO_ROOT, "test/peers", script), "--where"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`test/peers/${script} --where failed: ${r.stderr}`);
  return r.stdout.trim();
}

function need(file: string, what: string, script: string): string {
  if (!existsSync(file)) {
    throw new MissingPeerError(
      `${what} is not built (expected ${file}); build the e2e peers with: bash test/peers/build-all.sh ` +
        `(or only this one: bash test/peers/${script}; scripts/setup.sh runs them all)`,
    );
  }
  return file;
}

const cache = new Map<string, string>();
function cached(key: string, get: () => string): string {
  let v = cache.get(key);
  if (v === undefined) {
    v = get();
    cache.set(key, v);
  }
  return v;
}

export function kubeApiserverBin(): string {
  const dir = cached("kube", () => where("build-kube.sh"));
  return need(join(dir, "kube-apiserver"), "kube-apiserver", "build-kube.sh");
}

export function etcdBin(): string {
  const dir = cached("kube", () => where("build-kube.sh"));
  return need(join(dir, "etcd"), "etcd", "build-kube.sh");
}

export function minioBin(): string {
  const dir = cached("minio", () => where("build-minio.sh"));
  return need(join(dir, "minio"), "MinIO", "build-minio.sh");
}

/** aws/amazon-eks-pod-identity-webhook at the pinned commit: the differential test's peer. */
export function upstreamWebhookBin(): string {
  const dir = cached("upstream-webhook", () => where("build-upstream-webhook.sh"));
  return need(
    join(dir, "amazon-eks-pod-identity-webhook"),
    "upstream's pod-identity webhook",
    "build-upstream-webhook.sh",
  );
}

export function pebbleBin(): string {
  const dir = cached("pebble", () => where("build-pebble.sh"));
  return need(join(dir, "pebble"), "Pebble", "build-pebble.sh");
}

function venv(): string {
  const dir = cached("py", () => where("setup-python.sh"));
  need(join(dir, ".complete"), "the Python peer venv (moto, AWS CLI)", "setup-python.sh");
  return dir;
}

export function motoServerBin(): string {
  return need(join(venv(), "bin/moto_server"), "moto_server", "setup-python.sh");
}

export function awsCliBin(): string {
  return need(join(venv(), "bin/aws"), "the AWS CLI", "setup-python.sh");
}

/** helm, to render deploy/helm/irsa-anywhere (test/e2e/helm-chart.test.ts). */
export function helmBin(): string {
  const dir = cached("helm", () => where("build-helm.sh"));
  return need(join(dir, "helm"), "helm", "build-helm.sh");
}
