/**
 * `irsa issuer serve` never presents an expired certificate: when the one it serves expires (and
 * nothing renewed it), connections are closed before the TLS handshake, /readyz says why, and
 * the refusals are counted. A real child process with a certificate valid for a few seconds.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createCa, issueServingCert } from "../../src/adapters/pki/index.js";
import { freePort } from "../../src/stack/processes.js";
import { httpCall } from "../../src/stack/http.js";
import { CLI, KUBERNETES_VECTORS } from "../support/paths.js";

describe("irsa issuer serve and an expiring certificate", () => {
  it("serves it while valid, then closes connections before the handshake and is not ready", async () => {
    const dir = mkdtempSync(join(tmpdir(), "irsa-serve-expiry-"));
    const ca = await createCa(dir, "expiry test CA");
    // Long enough for the CLI to start on a loaded machine; the test waits for its end.
    const validMs = 20_000;
    const notAfter = new Date(Date.now() + validMs);
    const cert = await issueServingCert(ca, "issuer", {
      ipAddresses: ["127.0.0.1"],
      notBefore: new Date(Date.now() - 60_000),
      notAfter,
    });
    const [port, metricsPort] = [await freePort(), await freePort()];
    const proc = spawn(
      process.execPath,
      [
        CLI,
        "issuer",
        "serve",
        "--key",
        join(KUBERNETES_VECTORS, "k8s-rsa-2048.pub.pem"),
        "--issuer",
        "https://127.0.0.1/c1",
        "--port",
        String(port),
        "--metrics-port",
        String(metricsPort),
        "--bind-address",
        "127.0.0.1",
        "--tls-cert",
        cert.certFile,
        "--tls-key",
        cert.keyFile,
        "--data-dir",
        join(dir, "data"),
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    let exitCode: number | null | undefined;
    const exited = new Promise((resolve) =>
      proc.on("exit", (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    try {
      const get = () =>
        httpCall(`https://127.0.0.1:${port}/c1/openid/v1/jwks`, { ca: ca.certPem, timeoutMs: 2000 });
      const ready = () => httpCall(`http://127.0.0.1:${metricsPort}/readyz`, { timeoutMs: 2000 });
      let served = false;
      while (!served) {
        served = await get().then(
          (r) => r.status === 200,
          () => false,
        );
        if (exitCode !== undefined) assert.fail(`irsa issuer serve exited (${exitCode}) before serving`);
        if (Date.now() > notAfter.getTime()) assert.fail("not served before the certificate's end");
        if (!served) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await ready()).status, 200);
      // Wait for the certificate's end (the point of the test), then a little for whole seconds.
      await new Promise((r) => setTimeout(r, Math.max(0, notAfter.getTime() + 1500 - Date.now())));
      await assert.rejects(get(), /ECONNRESET|socket hang up|disconnected before secure TLS/);
      const r = await ready();
      assert.equal(r.status, 503);
      assert.match(r.text, /the serving certificate has expired/);
      const m = await httpCall(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.match(m.text, /^irsa_issuer_connections_refused_expired_total [1-9]/m);
    } finally {
      proc.kill("SIGTERM");
      await exited;
    }
  });
});
