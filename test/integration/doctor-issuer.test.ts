/**
 * irsa doctor's issuer group against our own HTTPS server on loopback, with a private CA
 * (--ca-file): what it fetches is what STS would fetch.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { exportJWK } from "jose";
import { createCa, issueServingCert, type Ca, type Cert } from "../../src/adapters/pki/index.js";
import { irsa } from "../support/cli.js";

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

let ca: Ca;
let leaf: Cert;
let jwks: string;
before(async () => {
  ca = await createCa(mkdtempSync(join(tmpdir(), "irsa-doctor-issuer-")), "doctor issuer root");
  leaf = await issueServingCert(ca, "leaf", { dnsNames: ["localhost"] });
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", use: "sig", alg: "RS256" }] });
});

/** An issuer whose discovery document's jwks_uri is `jwksUri(port)`. */
async function serve(jwksUri: (port: number) => string): Promise<number> {
  let port = 0;
  const server = createServer({ cert: leaf.chainPem, key: leaf.keyPem }, (req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(
      req.url === "/.well-known/openid-configuration"
        ? JSON.stringify({
            issuer: `https://localhost:${port}`,
            jwks_uri: jwksUri(port),
            response_types_supported: ["id_token"],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: ["RS256"],
          })
        : jwks,
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  port = (server.address() as AddressInfo).port;
  return port;
}

interface Check {
  readonly id: string;
  readonly status: string;
  readonly detail: string;
}

async function doctor(port: number): Promise<Check[]> {
  const r = await irsa(
    "doctor",
    "--issuer",
    `https://localhost:${port}`,
    "--ca-file",
    ca.certFile,
    "--no-cluster",
    "--output",
    "json",
  );
  return (JSON.parse(r.stdout) as { findings: Check[] }).findings;
}

describe("irsa doctor: the issuer over real HTTPS", () => {
  it("fetches a jwks_uri whose scheme is written in capitals, as the URL check accepts it", async () => {
    const port = await serve((p) => `HTTPS://localhost:${p}/openid/v1/jwks`);
    const checks = await doctor(port);
    const by = (id: string): Check | undefined => checks.find((c) => c.id === id);
    // Skipped as "not fetched" before: every check after it was skipped and none failed.
    // pass, or warn when the loaded machine made the answer slower than STS's limit.
    assert.ok(["pass", "warn"].includes(by("jwks")?.status ?? ""), by("jwks")?.detail);
    assert.match(
      by("jwks")?.detail ?? "",
      new RegExp(`^HTTPS://localhost:${port}/openid/v1/jwks: HTTP 200, `),
    );
    assert.deepEqual(by("jwks-keys"), { ...by("jwks-keys"), status: "pass", detail: "1 key: RSA k1 RS256" });
    assert.equal(by("issuer-thumbprint")?.status, "pass", by("issuer-thumbprint")?.detail);
  });

  it("fails the jwks check for a jwks_uri over plain http, naming the field", async () => {
    const port = await serve((p) => `http://localhost:${p}/openid/v1/jwks`);
    const jwksCheck = (await doctor(port)).find((c) => c.id === "jwks");
    assert.equal(jwksCheck?.status, "fail");
    assert.equal(
      jwksCheck.detail,
      `jwks_uri "http://localhost:${port}/openid/v1/jwks" must use the https scheme, not http`,
    );
  });
});
