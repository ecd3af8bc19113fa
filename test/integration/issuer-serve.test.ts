/**
 * `irsa issuer serve` as a real child process: HTTPS on loopback with a certificate from a test CA
 * (the e2e harness's openssl PKI), a client trusting only that CA; exactly the two documents with
 * their content type, ETag and 304s, HEAD and Cache-Control, 404 elsewhere, health and metrics on
 * their own port, a hot-reloaded certificate, and SIGTERM → exit 0.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createCa, issueServingCert, type Cert } from "../e2e/harness/pki.js";
import { httpCall, type HttpResponse } from "../../src/stack/http.js";
import { CLI, KUBERNETES_VECTORS } from "../support/paths.js";

const ISSUER = "https://127.0.0.1/c1";
const VECTOR_PUB = join(KUBERNETES_VECTORS, "k8s-rsa-2048.pub.pem");

let proc: ChildProcess;
let exited: Promise<number | null>;
let port = 0;
let metricsPort = 0;
let cert: Cert;
let second: Cert;
let dir: string;
let stdout = "";

function get(path: string, headers: Record<string, string> = {}, method = "GET"): Promise<HttpResponse> {
  return httpCall(`https://127.0.0.1:${port}${path}`, { ca: cert.caPem, headers, method, timeoutMs: 5000 });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "irsa-serve-"));
  const ca = await createCa(dir, "issuer test CA");
  cert = await issueServingCert(ca, "issuer");
  second = await issueServingCert(ca, "issuer-2");
  const tlsCert = join(dir, "tls.crt");
  const tlsKey = join(dir, "tls.key");
  writeFileSync(tlsCert, readFileSync(cert.certFile));
  writeFileSync(tlsKey, readFileSync(cert.keyFile));
  proc = spawn(
    process.execPath,
    [
      CLI,
      "issuer",
      "serve",
      "--key",
      VECTOR_PUB,
      "--issuer",
      ISSUER,
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--bind-address",
      "127.0.0.1",
      "--tls-cert",
      tlsCert,
      "--tls-key",
      tlsKey,
      "--data-dir",
      join(dir, "data"),
      "--interval",
      "1s",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  exited = new Promise((resolve) => proc.on("exit", resolve));
  proc.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  // Up to 30 s: the CLI starts in well under a second, but not on a machine with a load of 15.
  for (let i = 0; i < 600 && (port === 0 || metricsPort === 0); i++) {
    await new Promise((r) => setTimeout(r, 50));
    for (const line of stdout.split("\n")) {
      if (!line.startsWith("{")) continue;
      const o = JSON.parse(line) as { msg: string; port?: number; metricsPort?: number };
      if (o.msg === "serving" && o.port !== undefined) port = o.port;
      if (o.msg === "starting" && o.metricsPort !== undefined) metricsPort = o.metricsPort;
    }
  }
  assert.ok(port > 0 && metricsPort > 0, `ports from the log:\n${stdout}`);
  for (let i = 0; i < 100; i++) {
    const r = await httpCall(`http://127.0.0.1:${metricsPort}/readyz`);
    if (r.status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail("not ready");
});

after(async () => {
  if (proc.exitCode === null) proc.kill("SIGTERM");
  await exited;
});

describe("irsa issuer serve", () => {
  it("serves the two documents at the issuer's path with content type, ETag and Cache-Control", async () => {
    const jwks = await get("/c1/openid/v1/jwks");
    assert.equal(jwks.status, 200, jwks.text);
    assert.equal(jwks.headers["content-type"], "application/json");
    assert.equal(jwks.headers["cache-control"], "public, max-age=60");
    assert.match(String(jwks.headers.etag), /^"[A-Za-z0-9_-]{43}"$/);
    assert.deepEqual(jwks.body, readFileSync(join(dir, "data/openid/v1/jwks")));
    const disc = await get("/c1/.well-known/openid-configuration");
    assert.equal(disc.status, 200);
    assert.equal((JSON.parse(disc.text) as { jwks_uri: string }).jwks_uri, `${ISSUER}/openid/v1/jwks`);
  });

  it("answers If-None-Match with 304 and no body, HEAD with headers only", async () => {
    const first = await get("/c1/openid/v1/jwks");
    const etag = String(first.headers.etag);
    const again = await get("/c1/openid/v1/jwks", { "if-none-match": etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, etag);
    const stale = await get("/c1/openid/v1/jwks", { "if-none-match": '"stale"' });
    assert.equal(stale.status, 200);
    const head = await get("/c1/openid/v1/jwks", {}, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(Number(head.headers["content-length"]), first.body.length);
  });

  it("404 for anything else, 405 for other methods, the state object never served", async () => {
    for (const path of [
      "/",
      "/openid/v1/jwks",
      "/c1/irsa-issuer-state.json",
      "/c1/openid/v1/jwks/",
      "/c1/../c1",
    ]) {
      assert.equal((await get(path)).status, 404, path);
    }
    assert.equal((await get("/c1/openid/v1/jwks", {}, "POST")).status, 405);
  });

  it("refuses a client that does not trust the CA", async () => {
    await assert.rejects(httpCall(`https://127.0.0.1:${port}/c1/openid/v1/jwks`, { timeoutMs: 5000 }));
  });

  it("metrics count the answers", async () => {
    const m = await httpCall(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.match(m.text, /irsa_issuer_http_requests_total\{path="\/c1\/openid\/v1\/jwks",code="304"\} [1-9]/);
    assert.match(m.text, /irsa_issuer_keys_published\{target="dir:\/\/.*"\} 1/);
  });

  it("serves a new certificate after its files change", async () => {
    const tlsCert = join(dir, "tls.crt");
    const tlsKey = join(dir, "tls.key");
    writeFileSync(`${tlsKey}.tmp`, readFileSync(second.keyFile));
    writeFileSync(`${tlsCert}.tmp`, readFileSync(second.certFile));
    renameSync(`${tlsKey}.tmp`, tlsKey);
    renameSync(`${tlsCert}.tmp`, tlsCert);
    const want = new X509Certificate(readFileSync(second.certFile)).fingerprint256;
    const { connect } = await import("node:tls");
    let seen = "";
    for (let i = 0; i < 100 && seen !== want; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await new Promise<string>((resolve, reject) => {
        const s = connect({ host: "127.0.0.1", port, ca: cert.caPem, servername: "localhost" }, () => {
          resolve(s.getPeerX509Certificate()?.fingerprint256 ?? "");
          s.end();
        });
        s.on("error", reject);
      });
    }
    assert.equal(seen, want);
  });

  it("SIGTERM stops it with exit code 0", async () => {
    proc.kill("SIGTERM");
    assert.equal(await exited, 0);
  });
});
