/**
 * The local stack finds its peers through environment variables only, and says which one is
 * missing and how to build the peers; the CLI path comes from the build, not from the tests.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { IrsaError } from "../../src/core/errors.js";
import {
  cachedPeerPath,
  DEFAULT_KUBE_VERSION,
  IRSA_CLI,
  irsaCliPath,
  locatePeer,
  locatePeers,
  PEER_ENV,
} from "../../src/stack/peers.js";
import { REPO_ROOT } from "../support/paths.js";

const dir = mkdtempSync(join(tmpdir(), "irsa-peers-unit-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function fakeBinary(name: string, mode = 0o755): string {
  const file = join(dir, name);
  writeFileSync(file, "#!/bin/sh\n");
  chmodSync(file, mode);
  return file;
}

const peerNotFound = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof IrsaError);
  assert.equal(e.code, "PEER_NOT_FOUND");
  assert.match(e.message, pattern);
  assert.match(e.hint ?? "", /bash scripts\/setup\.sh/);
  return true;
};

describe("locatePeers", () => {
  const env = {
    IRSA_KUBE_APISERVER: fakeBinary("kube-apiserver"),
    IRSA_ETCD: fakeBinary("etcd"),
    IRSA_MINIO: fakeBinary("minio"),
  };

  it("reads each binary from its variable", () => {
    assert.deepEqual(locatePeers(env), {
      kubeApiserver: env.IRSA_KUBE_APISERVER,
      etcd: env.IRSA_ETCD,
      minio: env.IRSA_MINIO,
    });
    assert.deepEqual(Object.values(PEER_ENV).sort(), Object.keys(env).sort());
  });

  it("names the variable that is missing or empty", () => {
    assert.throws(() => locatePeers({ ...env, IRSA_ETCD: undefined }), peerNotFound(/^IRSA_ETCD is not set/));
    assert.throws(
      () => locatePeer("minio", { IRSA_MINIO: "" }),
      peerNotFound(/^IRSA_MINIO is not set: .*MinIO/),
    );
  });

  it("refuses a path with no executable there", () => {
    const missing = join(dir, "nope");
    assert.throws(
      () => locatePeer("kubeApiserver", { IRSA_KUBE_APISERVER: missing }),
      peerNotFound(new RegExp(`^IRSA_KUBE_APISERVER=${missing}: no executable kube-apiserver`)),
    );
    const notExecutable = fakeBinary("etcd-data", 0o644);
    assert.throws(() => locatePeer("etcd", { IRSA_ETCD: notExecutable }), peerNotFound(/no executable etcd/));
  });

  it("never falls back to the process environment when given one", () => {
    assert.throws(() => locatePeers({}), peerNotFound(/^IRSA_KUBE_APISERVER is not set/));
  });
});

describe("the peer cache, when a variable is unset", () => {
  /** A cache laid out as test/peers/build-kube.sh leaves it, with fake binaries. */
  function cacheWith(version: string): string {
    const cache = join(dir, `cache-${version}`);
    mkdirSync(join(cache, `kube-${version}`, "bin"), { recursive: true });
    for (const name of ["kube-apiserver", "etcd"]) {
      const file = join(cache, `kube-${version}`, "bin", name);
      writeFileSync(file, "#!/bin/sh\n");
      chmodSync(file, 0o755);
    }
    return cache;
  }

  it("finds kube-apiserver and etcd where build-kube.sh builds its default version", () => {
    const cache = cacheWith(DEFAULT_KUBE_VERSION);
    const env = { IRSA_PEER_CACHE: cache };
    assert.equal(
      locatePeer("kubeApiserver", env),
      join(cache, `kube-${DEFAULT_KUBE_VERSION}/bin/kube-apiserver`),
    );
    assert.equal(locatePeer("etcd", env), join(cache, `kube-${DEFAULT_KUBE_VERSION}/bin/etcd`));
  });

  it("takes the version from K8S_VERSION, as build-kube.sh does, and the cache from HOME by default", () => {
    const cache = cacheWith("v1.99.0");
    assert.equal(
      locatePeer("etcd", { IRSA_PEER_CACHE: cache, K8S_VERSION: "v1.99.0" }),
      join(cache, "kube-v1.99.0/bin/etcd"),
    );
    assert.equal(
      cachedPeerPath("kubeApiserver", { HOME: "/home/u" }),
      `/home/u/.cache/irsa-anywhere/peers/kube-${DEFAULT_KUBE_VERSION}/bin/kube-apiserver`,
    );
    assert.equal(cachedPeerPath("minio", { HOME: "/home/u" }), undefined, "MinIO has no cache fallback");
  });

  it("names the variable and the cache path it looked at when neither has the binary", () => {
    const empty = join(dir, "empty-cache");
    assert.throws(
      () => locatePeer("kubeApiserver", { IRSA_PEER_CACHE: empty, K8S_VERSION: "v1.98.0" }),
      peerNotFound(
        new RegExp(
          `^IRSA_KUBE_APISERVER is not set: .* \\(nor is one built at ${empty}/kube-v1.98.0/bin/kube-apiserver\\)$`,
        ),
      ),
    );
  });

  it("uses build-kube.sh's default version", () => {
    const script = readFileSync(join(REPO_ROOT, "test/peers/build-kube.sh"), "utf8");
    assert.equal(/K8S_VERSION="\$\{K8S_VERSION:-(v[0-9.]+)\}"/.exec(script)?.[1], DEFAULT_KUBE_VERSION);
  });
});

describe("irsaCliPath", () => {
  it("is the built CLI of this checkout", () => {
    assert.equal(IRSA_CLI, join(REPO_ROOT, "dist/src/cli/main.js"));
    assert.ok(existsSync(IRSA_CLI), "the tests run from the build");
    assert.equal(irsaCliPath(), IRSA_CLI);
  });
});
