/**
 * Where the local stack finds its peers and the `irsa` CLI. Peer binaries come from environment
 * variables, set by scripts/local-stack.sh from the peer build scripts (their single source of
 * pinned versions and cache paths), so the product never runs test scripts itself. The CLI is this
 * package's own build, found next to this module.
 */
import { constants } from "node:fs";
import { accessSync } from "node:fs";
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

const BUILD_HINT =
  "build the peers with: bash scripts/setup.sh (bash scripts/local-stack.sh sets these variables from the build)";

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** One peer's binary, from its environment variable; PEER_NOT_FOUND names the variable when unset. */
export function locatePeer(peer: Peer, env: NodeJS.ProcessEnv = process.env): string {
  const name = PEER_ENV[peer];
  const file = env[name];
  if (file === undefined || file === "") {
    throw new IrsaError(
      "PEER_NOT_FOUND",
      `${name} is not set: it must hold the path of the ${PEER_NAME[peer]} binary`,
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
