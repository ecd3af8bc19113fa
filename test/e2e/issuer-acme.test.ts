/**
 * `irsa issuer serve --acme-domain` against Pebble with real HTTP-01 validation (Pebble resolves
 * the domain to loopback through the harness's DNS responder and fetches the token from the
 * responder under test): a certificate is obtained and served to a client trusting only Pebble's
 * root (from its management interface); with Pebble's short lifetime it is renewed at two thirds
 * of it without a restart, and an expired one is never served; the account key and certificate
 * stay on disk (0600) and a restart serves them without a new order. With a Let's Encrypt
 * lifetime (90 days, renewal due in 60: longer than one Node timer holds) one order is made and
 * the next is not until then.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { statSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KUBERNETES_VECTORS } from "../support/paths.js";
import {
  freePort,
  httpCall,
  requireIrsaCli,
  startPebble,
  startProcess,
  stopAll,
  tempDir,
  waitUntil,
  type ManagedProcess,
  type Pebble,
} from "./harness/index.js";

after(stopAll);

const DOMAIN = "oidc.irsa-acme.test";
const ISSUER = `https://${DOMAIN}/c1`;
/** Pebble's certificate lifetime: renewal (at two thirds) happens about 40 s after issue. */
const VALIDITY_S = 60;

let pebble: Pebble;
let root: string;
let dataDir: string;

interface Served {
  status: number;
  body: string;
  cert: X509Certificate;
}

/** GET over HTTPS to 127.0.0.1 with SNI and hostname check for DOMAIN, trusting only `ca`. */
function fetchServed(port: number, path: string, ca: string): Promise<Served> {
  return new Promise((resolve, reject) => {
    const req = request(
      // A new connection (and handshake) every time: a kept-alive one would show the old certificate.
      {
        host: "127.0.0.1",
        port,
        path,
        servername: DOMAIN,
        ca,
        headers: { host: DOMAIN },
        timeout: 5000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const peer = res.socket as unknown as { getPeerX509Certificate(): X509Certificate | undefined };
        const cert = peer.getPeerX509Certificate();
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if (cert === undefined) reject(new Error("no peer certificate"));
          else resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), cert });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

interface Serve {
  proc: ManagedProcess;
  port: number;
  metricsPort: number;
}

/** A Pebble and the data directory of the issuer that orders from it. */
interface AcmeCa {
  readonly pebble: Pebble;
  readonly dataDir: string;
}

async function startServe(name: string, ca: AcmeCa = { pebble, dataDir }): Promise<Serve> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const proc = startProcess({
    name,
    command: process.execPath,
    args: [
      requireIrsaCli(),
      "issuer",
      "serve",
      "--from",
      "keys",
      "--key",
      join(KUBERNETES_VECTORS, "k8s-rsa-2048.pub.pem"),
      "--issuer",
      ISSUER,
      "--port",
      String(port),
      "--metrics-port",
      String(metricsPort),
      "--bind-address",
      "127.0.0.1",
      "--data-dir",
      ca.dataDir,
      "--acme-domain",
      DOMAIN,
      "--acme-email",
      "ops@irsa-acme.test",
      "--acme-directory",
      ca.pebble.directoryUrl,
      "--acme-ca-file",
      ca.pebble.listenerCa.certFile,
      "--acme-http-port",
      String(ca.pebble.httpPort),
    ],
    logDir: ca.dataDir,
    env: { NO_PROXY: "127.0.0.1,localhost", no_proxy: "127.0.0.1,localhost" },
  });
  await waitUntil(
    `${name} /readyz`,
    async () =>
      (await httpCall(`http://127.0.0.1:${metricsPort}/readyz`, { timeoutMs: 2000 })).status === 200,
    { proc, timeoutMs: 90_000 },
  );
  return { proc, port, metricsPort };
}

async function metric(s: Serve, name: string): Promise<number> {
  const text = (await httpCall(`http://127.0.0.1:${s.metricsPort}/metrics`)).text;
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** fetchServed from `s`; a failed request also says what the issuer says of it. */
async function fetchFrom(s: Serve, path: string, ca: string): Promise<Served> {
  try {
    return await fetchServed(s.port, path, ca);
  } catch (e) {
    const refused = await metric(s, "irsa_issuer_connections_refused_expired_total").catch(() => NaN);
    throw new Error(
      `GET ${path} at ${new Date().toISOString()} failed: ${(e as Error).message}; connections the issuer closed for an expired certificate: ${refused}; exit status: ${s.proc.exitStatus ?? "running"}; its log ends:\n${s.proc.tail(20)}`,
      { cause: e },
    );
  }
}

before(async () => {
  pebble = await startPebble({ httpPort: await freePort(), validitySeconds: VALIDITY_S });
  root = await pebble.issuingRoot();
  dataDir = await tempDir("issuer-acme");
});

describe("irsa issuer serve with ACME (Pebble)", () => {
  test("obtains a certificate, serves it, renews it at two thirds of its lifetime, and keeps it on disk", async () => {
    const t0 = Date.now();
    const serve = await startServe("issuer-acme");
    const firstMs = Date.now() - t0;
    const first = await fetchFrom(serve, "/c1/.well-known/openid-configuration", root);
    assert.equal(first.status, 200);
    assert.equal((JSON.parse(first.body) as { issuer: string }).issuer, ISSUER);
    assert.ok(
      first.cert.checkHost(DOMAIN),
      `served certificate is for ${DOMAIN}: ${first.cert.subjectAltName}`,
    );
    const notBefore = first.cert.validFromDate.getTime();
    const notAfter = first.cert.validToDate.getTime();
    assert.ok(notAfter - notBefore <= VALIDITY_S * 1000, "Pebble's short lifetime");
    assert.equal(await metric(serve, 'irsa_issuer_acme_orders_total{result="ok"}'), 1);
    for (const f of ["account.key", "cert.pem", "key.pem"]) {
      assert.equal(statSync(join(dataDir, "acme", f)).mode & 0o777, 0o600, f);
    }

    // Renewal: a new certificate is served without a restart, from two thirds of the lifetime on,
    // and every answer until then carries a certificate that has not expired.
    const renewAt = notBefore + ((notAfter - notBefore) * 2) / 3;
    let renewed: Served | undefined;
    while (Date.now() < notAfter + 20_000) {
      const sentAt = Date.now();
      const s = await fetchFrom(serve, "/c1/openid/v1/jwks", root);
      assert.equal(s.status, 200);
      // X.509 times are whole seconds; the client also refuses an expired one in the handshake.
      assert.ok(s.cert.validToDate.getTime() + 1000 > sentAt, "never an expired certificate");
      if (s.cert.serialNumber !== first.cert.serialNumber) {
        renewed = s;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(renewed !== undefined, "renewed before the first certificate expired");
    const seenAt = Date.now();
    assert.ok(
      seenAt >= renewAt - 1000,
      `renewed ${Math.round((renewAt - seenAt) / 1000)} s before two thirds`,
    );
    assert.ok(seenAt < notAfter, "served the new certificate before the old one expired");
    assert.ok(renewed.cert.validFromDate.getTime() >= notBefore);
    assert.equal(await metric(serve, 'irsa_issuer_acme_orders_total{result="ok"}'), 2);
    console.log(
      `acme: first certificate served ${firstMs} ms after start; renewal seen ${Math.round((seenAt - notBefore) / 1000)} s after issue (two thirds: ${Math.round((renewAt - notBefore) / 1000)} s, lifetime ${Math.round((notAfter - notBefore) / 1000)} s)`,
    );
    await serve.proc.stop();

    // A restart serves the certificate on disk: no new order.
    const again = await startServe("issuer-acme-restart");
    const s = await fetchFrom(again, "/c1/openid/v1/jwks", root);
    if (s.cert.serialNumber === renewed.cert.serialNumber) {
      assert.equal(await metric(again, 'irsa_issuer_acme_orders_total{result="ok"}'), 0);
    } else {
      // Only if the renewed certificate reached two thirds of its own lifetime meanwhile.
      assert.ok(Date.now() >= renewed.cert.validFromDate.getTime() + (VALIDITY_S * 1000 * 2) / 3 - 1000);
    }
    await again.proc.stop();
  });
});

describe("irsa issuer serve with ACME, a 90-day certificate (Let's Encrypt's lifetime)", () => {
  test("orders once: the renewal 60 days on is longer than one timer holds, and is not made now", async () => {
    const longCa: AcmeCa = {
      pebble: await startPebble({ httpPort: await freePort(), validitySeconds: 90 * 24 * 3600 }),
      dataDir: await tempDir("issuer-acme-90d"),
    };
    const serve = await startServe("issuer-acme-90d", longCa);
    const served = await fetchFrom(serve, "/c1/openid/v1/jwks", await longCa.pebble.issuingRoot());
    assert.equal(served.status, 200);
    const days = (served.cert.validToDate.getTime() - served.cert.validFromDate.getTime()) / 86_400_000;
    assert.ok(days > 89, `a 90-day certificate, got ${days.toFixed(1)} days`);
    // A timer set past 2^31 - 1 ms fires after 1 ms: each order takes about a second here, so a
    // renewal loop would have made several more by now.
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(await metric(serve, 'irsa_issuer_acme_orders_total{result="ok"}'), 1);
    assert.equal(await metric(serve, 'irsa_issuer_acme_orders_total{result="error"}'), 0);
    const obtained = serve.proc
      .tail(200)
      .split("\n")
      .filter((l) => l.includes("ACME certificate obtained"));
    assert.equal(obtained.length, 1, obtained.join("\n"));
    const renewAt = Date.parse((JSON.parse(obtained[0] ?? "{}") as { renewAt?: string }).renewAt ?? "");
    assert.ok(
      renewAt - Date.now() > 59 * 86_400_000,
      `renewal due 60 days on: ${new Date(renewAt).toISOString()}`,
    );
    assert.doesNotMatch(serve.proc.tail(200), /TimeoutOverflowWarning/);
    await serve.proc.stop();
    await longCa.pebble.stop();
  });
});
