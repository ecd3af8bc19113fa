/** irsa iam thumbprint against our own HTTPS servers with a root → intermediate → leaf chain, checked against openssl. */
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createCa, issueCert, issueServingCert, type Ca, type Cert } from "../../src/adapters/pki/index.js";
import { thumbprint } from "../../src/adapters/oidc/thumbprint.js";
import { run } from "../../src/stack/processes.js";
import { irsa } from "../support/cli.js";

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** An issuer on loopback; its jwks_uri points at itself, or at the port `jwksPort` when given. */
async function serve(leaf: Cert, certChain: string, jwksPort?: number): Promise<number> {
  let port = 0;
  const server = createServer({ cert: certChain, key: leaf.keyPem }, (req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(
      req.url === "/.well-known/openid-configuration"
        ? JSON.stringify({
            issuer: `https://localhost:${port}`,
            jwks_uri: `https://localhost:${jwksPort ?? port}/openid/v1/jwks`,
          })
        : JSON.stringify({ keys: [] }),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  port = (server.address() as AddressInfo).port;
  return port;
}

function sha1(pem: string): string {
  return createHash("sha1").update(new X509Certificate(pem).raw).digest("hex");
}

/**
 * The certificates `openssl s_client -showcerts` reports the server sent, as SHA-1s, leaf first.
 * Asynchronous: the server runs in this process, so a synchronous spawn would block the event loop
 * that has to answer openssl's handshake, and both would wait for ever.
 */
async function opensslSent(port: number): Promise<string[]> {
  const r = await run(
    "openssl",
    ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", "-showcerts"],
    { input: "" },
  );
  const pems = r.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  assert.ok(pems.length > 0, r.stderr);
  return pems.map(sha1);
}

let root: Ca;
let sub: Ca & Cert;
let leaf: Cert;
let bundle: string;
before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "irsa-thumb-"));
  root = await createCa(dir, "thumbprint root");
  sub = await issueCert(root, { name: "sub", commonName: "thumbprint intermediate", isCa: true });
  leaf = await issueServingCert(sub, "leaf");
  bundle = join(dir, "bundle.pem");
  writeFileSync(bundle, root.certPem + sub.certPem);
});

describe("irsa iam thumbprint", () => {
  it("the server sends leaf + intermediate: the intermediate's SHA-1, as openssl reports", async () => {
    const port = await serve(leaf, leaf.chainPem);
    const r = await thumbprint(`https://localhost:${port}`, root.certFile);
    const openssl = await opensslSent(port);
    assert.deepEqual(openssl, [sha1(leaf.certPem), sha1(sub.certPem)]);
    assert.deepEqual(
      r.chain.map((c) => c.sha1),
      openssl,
    );
    assert.equal(r.thumbprint, sha1(sub.certPem));
    assert.match(r.thumbprint, /^[0-9a-f]{40}$/);
    // The root is trusted locally but was not sent: it is not the thumbprint.
    assert.notEqual(r.thumbprint, sha1(root.certPem));
  });

  it("the server sends the leaf only: the leaf's SHA-1, even when the CAs are trusted locally", async () => {
    const port = await serve(leaf, leaf.certPem);
    const r = await thumbprint(`https://localhost:${port}`, bundle);
    const openssl = await opensslSent(port);
    assert.deepEqual(openssl, [sha1(leaf.certPem)]);
    assert.deepEqual(
      r.chain.map((c) => c.sha1),
      openssl,
    );
    assert.equal(r.thumbprint, sha1(leaf.certPem));
  });

  it("refuses an issuer it cannot verify", async () => {
    const port = await serve(leaf, leaf.chainPem);
    await assert.rejects(thumbprint(`https://localhost:${port}`), /UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
  });

  it("refuses a jwks_uri host it cannot verify, naming it", async () => {
    const other = await createCa(mkdtempSync(join(tmpdir(), "irsa-thumb-other-")), "another root");
    const jwks = await issueServingCert(other, "jwks");
    const jwksPort = await serve(jwks, jwks.certPem);
    const port = await serve(leaf, leaf.chainPem, jwksPort);
    await assert.rejects(thumbprint(`https://localhost:${port}`, root.certFile), (e: Error) => {
      assert.match(e.message, new RegExp(`TLS with localhost:${jwksPort} failed: .*certificate`));
      return true;
    });
  });

  it("--help says when AWS ignores the thumbprint", async () => {
    const r = await irsa("iam", "thumbprint", "--help");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /ignores the thumbprint/);
  });
});
