import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { IrsaError, type ErrorCode } from "../../src/core/errors.js";
import { keyId, parseKeysPem } from "../../src/core/oidc/keys.js";
import { KEY_FIXTURES, KUBERNETES_VECTORS } from "../support/paths.js";

const VECTORS = KUBERNETES_VECTORS;
const read = (dir: string, f: string) => readFileSync(join(dir, f), "utf8");

function expectError(pem: string, code: ErrorCode, mentions: RegExp) {
  assert.throws(
    () => parseKeysPem(pem, "in.pem"),
    (e: unknown) => {
      assert.ok(e instanceof IrsaError, `expected IrsaError, got ${String(e)}`);
      assert.equal(e.code, code);
      assert.match(e.message, mentions);
      assert.match(e.message, /in\.pem/, "the message names the file");
      assert.ok(e.hint !== undefined && e.hint.length > 0, "a hint says how to fix it");
      return true;
    },
  );
}

describe("kid", () => {
  it("matches kube-apiserver's pinned kid for the upstream RSA test key (private and public)", () => {
    const expected = "JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU";
    for (const f of ["k8s-rsa-2048.key.pem", "k8s-rsa-2048.pub.pem"]) {
      const keys = parseKeysPem(read(VECTORS, f), f);
      assert.equal(keys.length, 1);
      const [k] = keys;
      assert.ok(k);
      assert.equal(k.publicKey.kid, expected, f);
      assert.equal(k.publicKey.alg, "RS256");
    }
  });

  it("is base64url of SHA-256 over the DER SPKI: 43 characters, no padding", () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const spki = publicKey.export({ type: "spki", format: "der" });
    const kid = keyId(spki);
    assert.match(kid, /^[A-Za-z0-9_-]{43}$/);
    const [k] = parseKeysPem(String(publicKey.export({ type: "spki", format: "pem" })), "x");
    assert.equal(k?.publicKey.kid, kid);
  });
});

describe("parseKeysPem accepts every form kube-apiserver reads", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const cases: [string, string, string][] = [
    ["RSA PKCS#1 private", String(rsa.privateKey.export({ type: "pkcs1", format: "pem" })), "RS256"],
    ["RSA PKCS#8 private", String(rsa.privateKey.export({ type: "pkcs8", format: "pem" })), "RS256"],
    ["RSA SPKI public", String(rsa.publicKey.export({ type: "spki", format: "pem" })), "RS256"],
    ["RSA PKCS#1 public", String(rsa.publicKey.export({ type: "pkcs1", format: "pem" })), "RS256"],
  ];
  for (const [curve, alg] of [
    ["prime256v1", "ES256"],
    ["secp384r1", "ES384"],
    ["secp521r1", "ES512"],
  ] as const) {
    const ec = generateKeyPairSync("ec", { namedCurve: curve });
    cases.push([`EC ${curve} SEC1`, String(ec.privateKey.export({ type: "sec1", format: "pem" })), alg]);
    cases.push([`EC ${curve} PKCS#8`, String(ec.privateKey.export({ type: "pkcs8", format: "pem" })), alg]);
    cases.push([`EC ${curve} SPKI`, String(ec.publicKey.export({ type: "spki", format: "pem" })), alg]);
  }
  for (const [name, pem, alg] of cases) {
    it(name, () => {
      const keys = parseKeysPem(pem, name);
      const [k] = keys;
      assert.equal(keys.length, 1);
      assert.ok(k);
      assert.equal(k.publicKey.alg, alg);
      assert.equal(k.privateKey !== undefined, pem.includes("PRIVATE"));
    });
  }

  it("a private key and its public half have the same kid", () => {
    const priv = String(rsa.privateKey.export({ type: "pkcs1", format: "pem" }));
    const pub = String(rsa.publicKey.export({ type: "spki", format: "pem" }));
    assert.equal(parseKeysPem(priv, "a")[0]?.publicKey.kid, parseKeysPem(pub, "b")[0]?.publicKey.kid);
  });

  it("reads several keys from one file, in file order, skipping EC PARAMETERS blocks", () => {
    const withParams = read(KEY_FIXTURES, "ec-with-params.key");
    const pub = String(rsa.publicKey.export({ type: "spki", format: "pem" }));
    const keys = parseKeysPem(`${pub}\n${withParams}`, "bundle.pem");
    assert.deepEqual(
      keys.map((k) => k.publicKey.alg),
      ["RS256", "ES256"],
    );
    assert.match(keys[1]?.publicKey.source ?? "", /bundle\.pem, PEM block 3 \(EC PRIVATE KEY\)/);
  });

  it("a rotation file with two PUBLIC KEY blocks gives each block its own key and kid", () => {
    const older = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
    const newer = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
    const pem = (k: typeof older) => String(k.export({ type: "spki", format: "pem" }));
    const spkiKid = (k: typeof older) => keyId(k.export({ type: "spki", format: "der" }));
    const keys = parseKeysPem(`${pem(older)}${pem(newer)}`, "rotation.pub");
    assert.deepEqual(
      keys.map((k) => k.publicKey.kid),
      [spkiKid(older), spkiKid(newer)],
    );
    assert.notEqual(keys[0]?.publicKey.kid, keys[1]?.publicKey.kid);
    assert.ok(keys[1]?.publicKey.key.equals(newer), "the second block's key is the newer one");
  });
});

describe("parseKeysPem refuses bad input with a clear error", () => {
  const rsaPem = String(
    generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
      type: "pkcs1",
      format: "pem",
    }),
  );
  const table: [string, string, ErrorCode, RegExp][] = [
    [
      "encrypted PKCS#1 (Proc-Type)",
      read(KEY_FIXTURES, "rsa-encrypted-pkcs1.key"),
      "KEY_ENCRYPTED",
      /encrypted/,
    ],
    ["encrypted PKCS#8", read(KEY_FIXTURES, "ec-encrypted-pkcs8.key"), "KEY_ENCRYPTED", /encrypted/],
    ["DSA (PKCS#8)", read(KEY_FIXTURES, "dsa.key"), "KEY_UNSUPPORTED_TYPE", /DSA keys are not supported/],
    [
      "DSA (traditional)",
      "-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n",
      "KEY_UNSUPPORTED_TYPE",
      /DSA keys are not supported/,
    ],
    ["Ed25519", read(KEY_FIXTURES, "ed25519.key"), "KEY_UNSUPPORTED_TYPE", /ED25519 keys are not supported/],
    ["secp256k1", read(KEY_FIXTURES, "secp256k1.key"), "KEY_UNSUPPORTED_CURVE", /secp256k1 is not supported/],
    [
      "an EC key on a curve with no name (explicit parameters)",
      read(KEY_FIXTURES, "ec-unnamed-curve.key"),
      "KEY_UNSUPPORTED_CURVE",
      /EC key on curve unknown is not supported/,
    ],
    ["a certificate", read(KEY_FIXTURES, "certificate.pem"), "KEY_IS_CERTIFICATE", /certificate, not a key/],
    ["truncated PEM (no END line)", rsaPem.slice(0, 200), "KEY_PEM_INVALID", /truncated/],
    [
      "damaged base64 body",
      rsaPem.replace(/\n[A-Za-z0-9+/]{10}/, "\n!!!!!!!!!!"),
      "KEY_PEM_INVALID",
      /does not decode/,
    ],
    ["not PEM at all", "ssh-rsa AAAAB3Nza... user@host\n", "KEY_PEM_INVALID", /no PEM block/],
    ["empty file", "", "KEY_PEM_INVALID", /no PEM block/],
    [
      "only EC PARAMETERS",
      "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n",
      "KEY_NOT_FOUND",
      /no key found/,
    ],
    [
      "a CSR",
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
      "KEY_PEM_INVALID",
      /not a key/,
    ],
    [
      "OpenSSH private key",
      "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
      "KEY_UNSUPPORTED_TYPE",
      /OpenSSH/,
    ],
  ];
  for (const [name, pem, code, re] of table) {
    it(name, () => {
      expectError(pem, code, re);
    });
  }

  it("a TRUSTED CERTIFICATE block (openssl x509 -trustout) is a certificate too, not a key", () => {
    const cert = read(KEY_FIXTURES, "certificate.pem").replaceAll(
      "CERTIFICATE-----",
      "TRUSTED CERTIFICATE-----",
    );
    expectError(cert, "KEY_IS_CERTIFICATE", /\(TRUSTED CERTIFICATE\): this is a certificate, not a key/);
  });

  it("a Proc-Type header marks a key encrypted with any spacing OpenSSL accepts after its colon", () => {
    const encrypted = read(KEY_FIXTURES, "rsa-encrypted-pkcs1.key");
    assert.match(encrypted, /Proc-Type: 4,ENCRYPTED/);
    for (const spacing of ["", "  ", "\t"]) {
      expectError(
        encrypted.replace("Proc-Type: 4,ENCRYPTED", `Proc-Type:${spacing}4,ENCRYPTED`),
        "KEY_ENCRYPTED",
        /encrypted with a passphrase/,
      );
    }
  });

  it("the hint for an OpenSSH key says how to convert it; the hint for a DSA key says to generate one", () => {
    const hint = (pem: string) => {
      try {
        parseKeysPem(pem, "in.pem");
      } catch (e) {
        assert.ok(e instanceof IrsaError);
        return e.hint ?? "";
      }
      assert.fail("expected an error");
    };
    const block = (type: string) => `-----BEGIN ${type}-----\nAAAA\n-----END ${type}-----\n`;
    assert.equal(
      hint(block("OPENSSH PRIVATE KEY")),
      "convert it: ssh-keygen -p -m PEM -f in.pem, or generate one: irsa keys generate",
    );
    assert.equal(hint(block("DSA PRIVATE KEY")), "generate a supported key: irsa keys generate");
  });

  it("a block that does not decode says whether it was read as a private or a public key, without OpenSSL's error code", () => {
    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const damage = (pem: string) => pem.replace(/\n[A-Za-z0-9+/]{10}/, "\n!!!!!!!!!!");
    const damagedPrivate = damage(String(pair.privateKey.export({ type: "pkcs8", format: "pem" })));
    const damagedPublic = damage(String(pair.publicKey.export({ type: "spki", format: "pem" })));
    for (const [pem, kind] of [
      [damagedPrivate, "private"],
      [damagedPublic, "public"],
    ] as const) {
      assert.throws(
        () => parseKeysPem(pem, "in.pem"),
        (e: unknown) => {
          assert.ok(e instanceof IrsaError);
          assert.equal(e.code, "KEY_PEM_INVALID");
          // OpenSSL's message is "error:<code>:<library>:<function>:<reason>"; the code is left out.
          assert.ok(e.cause instanceof Error, "the OpenSSL error is the cause");
          assert.match(e.cause.message, /^error:[0-9A-F]+:/);
          const reason = e.cause.message.split(":").slice(2).join(":");
          assert.ok(
            e.message.includes(`: the block does not decode as a ${kind} key (${reason})`),
            `${e.message} gives the reason ${reason}`,
          );
          return true;
        },
      );
    }
  });

  it("a file of EC PARAMETERS blocks only names that block type once", () => {
    const params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
    expectError(`${params}${params}`, "KEY_NOT_FOUND", /in\.pem: no key found, only EC PARAMETERS blocks$/);
  });

  it("refuses RSA-PSS keys, which kube-apiserver cannot sign with", () => {
    const pss = String(
      generateKeyPairSync("rsa-pss", { modulusLength: 2048 }).privateKey.export({
        type: "pkcs8",
        format: "pem",
      }),
    );
    expectError(pss, "KEY_UNSUPPORTED_TYPE", /RSA-PSS keys are not supported/);
  });
});
