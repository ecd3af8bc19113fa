/**
 * `irsa init` as a command: what it writes (keys, the two documents, the distribution's file) and
 * the refusals: an existing key kept without --force, a public key where a signing key is needed,
 * EKS Anywhere without the cluster's key, and a write that fails half way leaving nothing behind.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { irsa } from "../support/cli.js";
import { KUBERNETES_VECTORS } from "../support/paths.js";

const tmp = () => mkdtempSync(join(tmpdir(), "irsa-init-"));
const ISSUER = "https://oidc.example.com/cluster-1";
const VECTOR_KEY = join(KUBERNETES_VECTORS, "k8s-rsa-2048.key.pem");
const VECTOR_PUB = join(KUBERNETES_VECTORS, "k8s-rsa-2048.pub.pem");
const VECTOR_KID = "JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU";

/** Every file under `dir`, relative, sorted. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe("irsa init", () => {
  it("writes the keys, the issuer's documents and the distribution's file, and prints flags and steps", async () => {
    const out = join(tmp(), "out");
    const r = await irsa("init", "--distro", "k3s", "--issuer", ISSUER, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(files(out), [
      "issuer/.well-known/openid-configuration",
      "issuer/openid/v1/jwks",
      "k3s-irsa.yaml",
      "keys/sa.key",
      "keys/sa.pub",
    ]);
    assert.equal(statSync(join(out, "keys/sa.key")).mode & 0o777, 0o600);
    const kid = /^kid (\S+) alg RS256$/m.exec(r.stdout)?.[1] ?? "";
    const discovery = await irsa("discovery", "--issuer", ISSUER, "--key", join(out, "keys/sa.pub"));
    assert.equal(
      readFileSync(join(out, "issuer/.well-known/openid-configuration"), "utf8"),
      discovery.stdout,
    );
    const jwks = await irsa("jwks", "--key", join(out, "keys/sa.key"));
    assert.equal(readFileSync(join(out, "issuer/openid/v1/jwks"), "utf8"), jwks.stdout);
    assert.match(jwks.stdout, new RegExp(`"kid":"${kid}"`));
    assert.match(r.stdout, /^ {2}--service-account-issuer=https:\/\/oidc\.example\.com\/cluster-1$/m);
    assert.match(r.stdout, /sudo systemctl restart k3s/);
    assert.match(r.stdout, /publish issuer\/\.well-known\/openid-configuration and issuer\/openid\/v1\/jwks/);
  });

  it("takes an existing key with --key, and keeps it: the kid is the key's", async () => {
    const out = tmp();
    const r = await irsa(
      "init",
      "--distro",
      "kubeadm",
      "--issuer",
      ISSUER,
      "--out",
      out,
      "--key",
      VECTOR_KEY,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^kid ${VECTOR_KID} alg RS256$`, "m"));
    assert.equal((await irsa("keys", "kid", join(out, "keys/sa.key"))).stdout, `${VECTOR_KID}\n`);
  });

  it("refuses to replace an existing key without --force, and replaces it with --force", async () => {
    const out = tmp();
    assert.equal((await irsa("init", "--distro", "kind", "--issuer", ISSUER, "--out", out)).code, 0);
    const before = readFileSync(join(out, "keys/sa.key"), "utf8");
    const again = await irsa("init", "--distro", "kind", "--issuer", ISSUER, "--out", out);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /keys\/sa\.key already exists; not overwriting a signing key/);
    assert.match(again.stderr, /hint: pass --force/);
    assert.equal(readFileSync(join(out, "keys/sa.key"), "utf8"), before);
    const forced = await irsa("init", "--distro", "kind", "--issuer", ISSUER, "--out", out, "--force");
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(join(out, "keys/sa.key"), "utf8"), before);
  });

  it("writes nothing when one file cannot be written", async () => {
    const out = tmp();
    writeFileSync(join(out, "issuer"), "a file where a directory must go");
    const r = await irsa("init", "--distro", "rke2", "--issuer", ISSUER, "--out", out);
    assert.equal(r.code, 1);
    assert.deepEqual(files(out), ["issuer"], "no key, no document, no temporary file");
  });

  it("refuses a public key where kube-apiserver must sign, and takes one for EKS Anywhere", async () => {
    const out = tmp();
    const r = await irsa("init", "--distro", "k3s", "--issuer", ISSUER, "--out", out, "--key", VECTOR_PUB);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /holds a public key, but k3s's kube-apiserver needs the private key/);
    assert.deepEqual(files(out), []);
    const eksa = await irsa(
      "init",
      "--distro",
      "eks-anywhere",
      "--issuer",
      ISSUER,
      "--out",
      out,
      "--key",
      VECTOR_PUB,
    );
    assert.equal(eksa.code, 0, eksa.stderr);
    assert.deepEqual(files(out), [
      "eks-anywhere-cluster.yaml",
      "issuer/.well-known/openid-configuration",
      "issuer/openid/v1/jwks",
      "keys/sa.pub",
    ]);
    assert.match(eksa.stdout, new RegExp(`^kid ${VECTOR_KID} `, "m"));
  });

  const usage: [string, string[], RegExp][] = [
    ["no --distro", ["--issuer", ISSUER, "--out", "x"], /--distro is required: one of k3s, kubeadm, kind/],
    [
      "an unknown distribution",
      ["--distro", "k0s", "--issuer", ISSUER, "--out", "x"],
      /--distro must be one of/,
    ],
    ["no --issuer", ["--distro", "k3s", "--out", "x"], /--issuer is required/],
    [
      "EKS Anywhere without --key",
      ["--distro", "eks-anywhere", "--issuer", ISSUER, "--out", "x"],
      /needs --key/,
    ],
    [
      "a previous issuer on minikube",
      ["--distro", "minikube", "--issuer", ISSUER, "--out", "x", "--previous-issuer", "https://old.example"],
      /cannot be kept on minikube/,
    ],
  ];
  for (const [name, args, pattern] of usage) {
    it(`exits 2 on ${name}`, async () => {
      const cwd = tmp();
      const r = await irsa("init", ...args.map((a) => (a === "x" ? join(cwd, "out") : a)));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.ok(!existsSync(join(cwd, "out")), "nothing written");
    });
  }

  it("writes into an --out that already holds other files, leaving them", async () => {
    const out = tmp();
    mkdirSync(join(out, "mine"));
    writeFileSync(join(out, "mine/notes"), "x");
    assert.equal((await irsa("init", "--distro", "charmed", "--issuer", ISSUER, "--out", out)).code, 0);
    assert.equal(readFileSync(join(out, "mine/notes"), "utf8"), "x");
    assert.equal(statSync(join(out, "charmed.sh")).mode & 0o777, 0o755);
  });
});
