/**
 * `irsa issuer serve` never presents an expired certificate: when the one it serves expires (and
 * nothing renewed it), connections are closed before the TLS handshake, /readyz says why, and
 * the refusals are counted. A real child process: it starts on a certificate valid for an hour,
 * then its files are replaced by one valid for a few seconds, which it serves until its end.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { X509Certificate } from "node:crypto";
import { describe, it } from "node:test";
import { createCa, issueServingCert } from "../../src/adapters/pki/index.js";
import { freePort } from "../../src/stack/processes.js";
import { httpCall } from "../../src/stack/http.js";
import { CLI, KUBERNETES_VECTORS } from "../support/paths.js";

describe("irsa issuer serve and an expiring certificate", () => {
  it("serves it while valid, then closes connections before the handshake and is not ready", async () => {
    const dir = mkdtempSync(join(tmpdir(), "irsa-serve-expiry-"));
    const ca = await createCa(dir, "expiry test CA");
    const validFrom = new Date(Date.now() - 60_000);
    const cert = await issueServingCert(ca, "issuer", {
      ipAddresses: ["127.0.0.1"],
      notBefore: validFrom,
      notAfter: new Date(Date.now() + 3_600_000),
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
    const get = () =>
      httpCall(`https://127.0.0.1:${port}/c1/openid/v1/jwks`, { ca: ca.certPem, timeoutMs: 2000 });
    const ready = () => httpCall(`http://127.0.0.1:${metricsPort}/readyz`, { timeoutMs: 2000 });
    // The SHA-256 fingerprint of the certificate the server presents, or undefined.
    const presented = () =>
      new Promise<string | undefined>((resolve) => {
        const s = connect({ host: "127.0.0.1", port, ca: ca.certPem }, () => {
          resolve(s.getPeerCertificate().fingerprint256);
          s.destroy();
        });
        s.once("error", () => {
          resolve(undefined);
        });
      });
    const until = async (what: string, ms: number, ok: () => Promise<boolean>): Promise<boolean> => {
      const end = Date.now() + ms;
      while (!(await ok())) {
        if (exitCode !== undefined)
          assert.fail(`irsa issuer serve exited (${exitCode}) while waiting for ${what}`);
        if (Date.now() > end) return false;
        await new Promise((r) => setTimeout(r, 100));
      }
      return true;
    };
    try {
      assert.ok(
        await until("it to serve", 60_000, () =>
          get().then(
            (r) => r.status === 200,
            () => false,
          ),
        ),
        "served within 60 s",
      );
      assert.equal((await ready()).status, 200);
      // A certificate valid for a few seconds replaces the files. If the server has not picked it
      // up before its end (a loaded machine), a longer-lived one is tried: the test is about the
      // end of a certificate it serves, not about how fast it starts.
      let notAfter = new Date(0);
      // The server re-reads its files on a file event or every 10 s: 15 s covers one poll.
      for (let validMs = 15_000; notAfter.getTime() === 0; validMs *= 2) {
        assert.ok(validMs <= 60_000, "the short-lived certificate was never picked up");
        const end = new Date(Date.now() + validMs);
        const next = await issueServingCert(ca, `issuer-${validMs}`, {
          ipAddresses: ["127.0.0.1"],
          notBefore: validFrom,
          notAfter: end,
        });
        const want = new X509Certificate(next.certPem).fingerprint256;
        renameSync(next.keyFile, cert.keyFile);
        renameSync(next.certFile, cert.certFile);
        if (
          await until(
            "the new certificate",
            end.getTime() - Date.now() - 1000,
            async () => (await presented()) === want,
          )
        ) {
          notAfter = end;
        }
      }
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
