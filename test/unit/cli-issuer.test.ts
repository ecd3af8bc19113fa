/** `irsa issuer` flags: usage errors that name the flag, the bucket policy, a one-shot sync to a directory. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { irsa } from "../support/cli.js";
import { KUBERNETES_VECTORS } from "../support/paths.js";

const VECTOR_PUB = join(KUBERNETES_VECTORS, "k8s-rsa-2048.pub.pem");

describe("irsa issuer", () => {
  for (const [args, message] of [
    [["issuer", "sync"], /at least one --to/],
    [["issuer", "sync", "--to", "ftp://x"], /unknown scheme/],
    [["issuer", "sync", "--from", "keys", "--to", "dir:///tmp/x"], /--from keys needs at least one --key/],
    [["issuer", "sync", "--key", VECTOR_PUB, "--to", "dir:///tmp/x"], /--issuer is required/],
    [
      ["issuer", "sync", "--from", "kube", "--key", VECTOR_PUB, "--to", "dir:///tmp/x"],
      /go with --from keys/,
    ],
    [["issuer", "sync", "--retain", "1 day", "--to", "dir:///tmp/x"], /--retain must be a duration/],
    [
      ["issuer", "sync", "--watch", "--interval", "600h", "--to", "dir:///tmp/x"],
      /--interval must be at most 596h \(the longest wait a timer holds/,
    ],
    [["issuer", "sync", "--public-issuer", "http://x", "--to", "dir:///tmp/x"], /https/],
    [["issuer", "serve", "--key", VECTOR_PUB, "--issuer", "https://x"], /--tls-cert is required/],
    [
      ["issuer", "serve", "--key", VECTOR_PUB, "--issuer", "https://x", "--acme-email", "a@b.c"],
      /--acme-email goes with --acme-domain/,
    ],
    [
      ["issuer", "serve", "--key", VECTOR_PUB, "--issuer", "https://x", "--acme-domain", "oidc.example.com"],
      /--acme-email is required/,
    ],
    [
      [
        "issuer",
        "serve",
        "--key",
        VECTOR_PUB,
        "--issuer",
        "https://x",
        "--acme-domain",
        "oidc.example.com",
        "--acme-email",
        "a@b.c",
        "--tls-cert",
        "c.pem",
      ],
      /either --tls-cert and --tls-key, or --acme-domain: not both/,
    ],
    [
      [
        "issuer",
        "serve",
        "--key",
        VECTOR_PUB,
        "--issuer",
        "https://x",
        "--acme-domain",
        "https://oidc.example.com",
        "--acme-email",
        "a@b.c",
      ],
      /--acme-domain must be a DNS name/,
    ],
    [
      [
        "issuer",
        "serve",
        "--key",
        VECTOR_PUB,
        "--issuer",
        "https://x",
        "--acme-domain",
        "oidc.example.com",
        "--acme-email",
        "a@b.c",
        "--acme-directory",
        "http://ca/dir",
      ],
      /--acme-directory must be an https:\/\/ URL/,
    ],
    [
      [
        "issuer",
        "serve",
        "--key",
        VECTOR_PUB,
        "--issuer",
        "https://x",
        "--acme-domain",
        "oidc.example.com",
        "--acme-email",
        "a@b.c",
        "--acme-http-port",
        "x",
      ],
      /--acme-http-port must be a port number/,
    ],
    [["issuer", "print-bucket-policy"], /--bucket is required/],
  ] as const) {
    it(`${args.slice(1).join(" ")} is refused: ${message.source}`, async () => {
      const r = await irsa(...args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    });
  }

  it("print-bucket-policy prints the policy JSON", async () => {
    const r = await irsa("issuer", "print-bucket-policy", "--bucket", "oidc-b", "--prefix", "c1");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"arn:aws:s3:::oidc-b\/c1\/openid\/v1\/jwks"/);
  });

  it("sync --from keys writes both documents to a directory, then nothing the second time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "irsa-issuer-"));
    const args = [
      "issuer",
      "sync",
      "--key",
      VECTOR_PUB,
      "--issuer",
      "https://oidc.example.com",
      "--to",
      `dir://${dir}`,
    ];
    const first = await irsa(...args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stdout,
      /wrote irsa-issuer-state\.json, openid\/v1\/jwks, \.well-known\/openid-configuration \(1 keys\)/,
    );
    const jwks = await irsa("jwks", "--key", VECTOR_PUB);
    assert.equal(`${readFileSync(join(dir, "openid/v1/jwks"), "utf8")}\n`, jwks.stdout);
    const second = await irsa(...args);
    assert.match(second.stdout, /unchanged/);
  });

  it("sync --public-issuer refuses a different cluster issuer and writes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "irsa-issuer-"));
    const r = await irsa(
      "issuer",
      "sync",
      "--key",
      VECTOR_PUB,
      "--issuer",
      "https://a.example.com",
      "--public-issuer",
      "https://b.example.com",
      "--to",
      `dir://${dir}/out`,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kube-apiserver --service-account-issuer=https:\/\/b\.example\.com/);
    assert.throws(() => readFileSync(join(dir, "out/openid/v1/jwks")));
  });
});
