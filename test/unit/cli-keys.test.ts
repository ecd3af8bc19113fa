import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JSONWebKeySet } from "jose";
import { createPrivateKey } from "node:crypto";
import { irsa, irsaProcess } from "../support/cli.js";
import { KUBERNETES_VECTORS } from "../support/paths.js";

const tmp = () => mkdtempSync(join(tmpdir(), "irsa-cli-"));
const VECTOR_PUB = join(KUBERNETES_VECTORS, "k8s-rsa-2048.pub.pem");
const EXPECTED_DISCOVERY = join(KUBERNETES_VECTORS, "openid-configuration.issuer-example.expected.json");

describe("irsa keys generate", () => {
  it("writes sa.key with mode 0600 and sa.pub, and reports the kid", async () => {
    const dir = tmp();
    const r = await irsa("keys", "generate", "--out", dir, "--output", "json");
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { kid: string; alg: string };
    assert.equal(out.alg, "RS256");
    assert.equal(statSync(join(dir, "sa.key")).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir, "sa.key"), "utf8"), /^-----BEGIN RSA PRIVATE KEY-----/);
    assert.match(readFileSync(join(dir, "sa.pub"), "utf8"), /^-----BEGIN PUBLIC KEY-----/);
    const kid = await irsa("keys", "kid", join(dir, "sa.key"));
    assert.equal(kid.stdout, `${out.kid}\n`);
    assert.deepEqual(readdirSync(dir).sort(), ["sa.key", "sa.pub"], "no temporary files are left behind");
  });

  for (const [args, alg, bits] of [
    [["--bits", "3072"], "RS256", 3072],
    [["--type", "ec"], "ES256", 0],
    [["--type", "ec", "--curve", "P-384"], "ES384", 0],
  ] as const) {
    it(`generates ${alg} ${args.join(" ")}`, async () => {
      const dir = tmp();
      const r = await irsa("keys", "generate", "--out", dir, ...args, "-o", "json");
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { alg: string }).alg, alg);
      if (bits > 0) {
        const k = createPrivateKey(readFileSync(join(dir, "sa.key")));
        assert.equal(k.asymmetricKeyDetails?.modulusLength, bits);
      }
    });
  }

  it("refuses to overwrite an existing key without --force, and leaves it untouched", async () => {
    const dir = tmp();
    assert.equal((await irsa("keys", "generate", "--out", dir)).code, 0);
    const before = readFileSync(join(dir, "sa.key"), "utf8");
    const r = await irsa("keys", "generate", "--out", dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sa\.key already exists/);
    assert.match(r.stderr, /--force/);
    assert.equal(readFileSync(join(dir, "sa.key"), "utf8"), before);
    const forced = await irsa("keys", "generate", "--out", dir, "--force");
    assert.equal(forced.code, 0);
    assert.notEqual(readFileSync(join(dir, "sa.key"), "utf8"), before);
  });

  const usage: [string[], RegExp][] = [
    [[], /--out is required/],
    [["--out", "/tmp/x", "--type", "dsa"], /--type must be one of rsa, ec/],
    [["--out", "/tmp/x", "--bits", "1024"], /--bits must be one of 2048, 3072, 4096/],
    [["--out", "/tmp/x", "--type", "ec", "--bits", "2048"], /--bits applies to --type rsa only/],
    [["--out", "/tmp/x", "--curve", "P-256"], /--curve applies to --type ec only/],
    [["--out", "/tmp/x", "--bogus"], /Unknown option '--bogus'/],
  ];
  for (const [args, re] of usage) {
    it(`exits 2 on ${args.join(" ") || "no arguments"}`, async () => {
      const r = await irsa("keys", "generate", ...args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /irsa keys generate --help/);
    });
  }
});

describe("irsa jwks and irsa discovery", () => {
  it("print exactly the document bytes plus one newline", () => {
    const r = irsaProcess(
      "discovery",
      "--issuer",
      "https://issuer.example.com",
      "--key",
      VECTOR_PUB,
      "--key",
      ecPub(),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${readFileSync(EXPECTED_DISCOVERY, "utf8")}\n`);
    assert.equal(r.stderr, "");
    const j = irsaProcess("jwks", "--key", VECTOR_PUB);
    assert.equal(j.code, 0);
    assert.ok(j.stdout.endsWith("}]}\n") && !j.stdout.endsWith("\n\n"));
  });

  it("uses --jwks-uri when given and warns about a trailing slash on stderr only", async () => {
    const r = await irsa(
      "discovery",
      "--issuer",
      "https://oidc.example.com/c1/",
      "--jwks-uri",
      "https://cdn.example.com/keys.json",
      "--key",
      VECTOR_PUB,
    );
    assert.equal(r.code, 0);
    const doc = JSON.parse(r.stdout) as { issuer: string; jwks_uri: string };
    assert.equal(doc.issuer, "https://oidc.example.com/c1/");
    assert.equal(doc.jwks_uri, "https://cdn.example.com/keys.json");
    assert.match(r.stderr, /^warning: .*ends with "\/"/);
  });

  const failures: [string[], number, RegExp][] = [
    [["discovery", "--issuer", "http://x", "--key", VECTOR_PUB], 1, /must use the https scheme/],
    [["discovery", "--issuer", "https://x?a=b", "--key", VECTOR_PUB], 1, /has a query/],
    [["discovery", "--issuer", "https://x#f", "--key", VECTOR_PUB], 1, /has a fragment/],
    [["discovery", "--issuer", "https://x", "--jwks-uri", "http://x/j", "--key", VECTOR_PUB], 1, /jwks_uri/],
    [["discovery", "--key", VECTOR_PUB], 2, /--issuer is required/],
    [["discovery", "--issuer", "https://x"], 2, /at least one --key FILE/],
    [["jwks"], 2, /at least one --key FILE/],
    [
      ["jwks", "--key", "/nonexistent/sa.pub"],
      1,
      /cannot read key file \/nonexistent\/sa\.pub: no such file/,
    ],
    [["keys", "kid"], 2, /missing FILE/],
    [["keys", "kid", "a", "b"], 2, /unexpected argument "b"/],
  ];
  for (const [args, code, re] of failures) {
    it(`${args.join(" ")} exits ${code}`, async () => {
      const r = await irsa(...args);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, "", "nothing half-written on stdout");
    });
  }

  it("a broken key file names the file and the problem", async () => {
    const f = join(tmp(), "broken.pem");
    writeFileSync(f, "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhk\n");
    const r = await irsa("jwks", "--key", f);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /broken\.pem, PEM block 1 \(PUBLIC KEY\).*truncated/);
  });

  it("keys kid refuses a key file over 3 MiB without reading it whole", async () => {
    const f = join(tmp(), "huge.pem");
    writeFileSync(f, Buffer.alloc(50 * 1024 * 1024, 0x41));
    const t0 = Date.now();
    const r = await irsa("keys", "kid", f);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read key file .*huge\.pem: 52428800 bytes, over the 3145728-byte limit/);
    assert.ok(Date.now() - t0 < 5000, "answered at once");
  });

  it("keys kid refuses a pipe instead of waiting for a writer forever", async () => {
    const f = join(tmp(), "key.fifo");
    execFileSync("mkfifo", [f]);
    const r = await irsa("keys", "kid", f);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read key file .*key\.fifo: it is a pipe \(FIFO\)/);
    assert.match(r.stderr, /hint: give a regular file/);
  });
});

function ecPub(): string {
  const f = join(tmp(), "ec.pub");
  writeFileSync(
    f,
    generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ type: "spki", format: "pem" }),
  );
  return f;
}

describe("round trip: a token signed with a generated key verifies against the printed JWKS", () => {
  for (const [type, alg] of [
    ["rsa", "RS256"],
    ["ec", "ES256"],
  ] as const) {
    it(type, async () => {
      const dir = tmp();
      assert.equal((await irsa("keys", "generate", "--out", dir, "--type", type)).code, 0);
      const kid = (await irsa("keys", "kid", join(dir, "sa.pub"))).stdout.trim();
      const jwks = JSON.parse((await irsa("jwks", "--key", join(dir, "sa.pub"))).stdout) as JSONWebKeySet;
      const signer = createPrivateKey(readFileSync(join(dir, "sa.key")));
      const token = await new SignJWT({ sub: "system:serviceaccount:default:app" })
        .setProtectedHeader({ alg, kid })
        .setIssuer("https://issuer.example.com")
        .setAudience("sts.amazonaws.com")
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(signer);
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: "https://issuer.example.com",
        audience: "sts.amazonaws.com",
      });
      assert.equal(payload.sub, "system:serviceaccount:default:app");
      assert.equal(protectedHeader.kid, kid);
      assert.equal(decodeProtectedHeader(token).alg, alg);

      // A token signed by another key with the same kid must not verify.
      const other =
        type === "rsa"
          ? generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey
          : generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
      const forged = await new SignJWT({ sub: "x" }).setProtectedHeader({ alg, kid }).sign(other);
      await assert.rejects(jwtVerify(forged, createLocalJWKSet(jwks)), /signature verification failed/);
    });
  }
});

describe("help and unknown commands", () => {
  it("every command answers --help with exit 0", async () => {
    for (const args of [["keys", "generate"], ["keys", "kid"], ["jwks"], ["discovery"], ["keys"], []]) {
      const r = await irsa(...args, "--help");
      assert.equal(r.code, 0, args.join(" "));
      assert.match(r.stdout, /Usage: irsa/);
    }
  });
  it('takes "help" as an option\'s value, not as a request for help', async () => {
    // `--out help` is a directory named help: printing help and exiting 0 would report success
    // without having generated anything.
    let r = await irsa("keys", "generate", "--out", "help", "--type", "dsa");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--type must be one of rsa, ec, got "dsa"/);
    r = await irsa("keys", "kid", "--output", "help", "sa.pub");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--output must be one of text, json, got "help"/);
    r = await irsa("keys", "kid", "-o", "help", "sa.pub");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--output must be one of text, json, got "help"/);
  });
  it("an unknown command exits 2", async () => {
    const r = await irsa("frobnicate");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });
});
