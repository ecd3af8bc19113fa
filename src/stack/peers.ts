/**
 * Where the local stack finds its peers and the `irsa` CLI. Each peer binary comes from its
 * environment variable (scripts/local-stack.sh sets them from the peer build scripts, the single
 * source of pinned versions and cache paths, so the product never runs test scripts itself); when
 * that is unset, kube-apiserver and etcd are looked for where test/peers/build-kube.sh puts them:
 * $IRSA_PEER_CACHE (default ~/.cache/irsa-anywhere/peers)/kube-$K8S_VERSION/bin, K8S_VERSION
 * defaulting to the version the project is tested with. The CLI is this package's own build,
 * found next to this module.
 */
import { constants } from "node:fs";
import { accessSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { IrsaError } from "../core/errors.js";

export interface PeerPaths {
  readonly kubeApiserver: string;
  readonly etcd: string;
  readonly minio: string;
}

export type Peer = keyof PeerPaths;

/** The environment variable holding each peer binary's path. */
export const PEER_ENV: Readonly<Record<Peer, string>> = {
  kubeApiserver: "IRSA_KUBE_APISERVER",
  etcd: "IRSA_ETCD",
  minio: "IRSA_MINIO",
};

const PEER_NAME: Readonly<Record<Peer, string>> = {
  kubeApiserver: "kube-apiserver",
  etcd: "etcd",
  minio: "MinIO",
};

/** test/peers/build-kube.sh's default K8S_VERSION (a unit test keeps the two equal). */
export const DEFAULT_KUBE_VERSION = "v1.36.3";

const BUILD_HINT =
  "build the peers with: bash scripts/setup.sh (bash scripts/local-stack.sh sets these variables from the build)";

/** Where build-kube.sh leaves a peer when its environment variable is unset; undefined for MinIO or with no HOME. */
export function cachedPeerPath(peer: Peer, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (peer === "minio") return undefined;
  const cache =
    env.IRSA_PEER_CACHE !== undefined && env.IRSA_PEER_CACHE !== ""
      ? env.IRSA_PEER_CACHE
      : env.HOME !== undefined && env.HOME !== ""
        ? join(env.HOME, ".cache/irsa-anywhere/peers")
        : undefined;
  if (cache === undefined) return undefined;
  const version =
    env.K8S_VERSION !== undefined && env.K8S_VERSION !== "" ? env.K8S_VERSION : DEFAULT_KUBE_VERSION;
  return join(cache, `kube-${version}`, "bin", peer === "etcd" ? "etcd" : "kube-apiserver");
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * One peer's binary, from its environment variable, else from the peer cache (cachedPeerPath);
 * PEER_NOT_FOUND names the variable and the cache path looked at.
 */
export function locatePeer(peer: Peer, env: NodeJS.ProcessEnv = process.env): string {
  const name = PEER_ENV[peer];
  const file = env[name];
  if (file === undefined || file === "") {
    const cached = cachedPeerPath(peer, env);
    if (cached !== undefined && executable(cached)) return cached;
    throw new IrsaError(
      "PEER_NOT_FOUND",
      `${name} is not set: it must hold the path of the ${PEER_NAME[peer]} binary` +
        (cached === undefined ? "" : ` (nor is one built at ${cached})`),
      BUILD_HINT,
    );
  }
  if (!executable(file)) {
    throw new IrsaError(
      "PEER_NOT_FOUND",
      `${name}=${file}: no executable ${PEER_NAME[peer]} there`,
      BUILD_HINT,
    );
  }
  return file;
}

/** Every peer binary the local stack runs, each from its environment variable. */
export function locatePeers(env: NodeJS.ProcessEnv = process.env): PeerPaths {
  return {
    kubeApiserver: locatePeer("kubeApiserver", env),
    etcd: locatePeer("etcd", env),
    minio: locatePeer("minio", env),
  };
}

/** The built CLI entry point, dist/src/cli/main.js, beside this module's own compiled file. */
export const IRSA_CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/** IRSA_CLI, after checking it has been built. */
export function irsaCliPath(): string {
  try {
    accessSync(IRSA_CLI, constants.R_OK);
  } catch {
    throw new IrsaError("PEER_NOT_FOUND", `${IRSA_CLI} is missing`, "build the project first: npm run build");
  }
  return IRSA_CLI;
}
