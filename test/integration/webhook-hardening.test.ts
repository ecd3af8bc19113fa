/**
 * The webhook server against what an attacker or an unlucky operator sends, over real HTTPS on
 * loopback with certificates from the PKI adapter: reviews built to exhaust memory (under a heap
 * limit like the manifest's), bodies that never finish, malformed pods by the thousand, and clients
 * without the certificate --client-ca-file requires. The ServiceAccount source is the in-memory
 * FAKE of kube-apiserver (test/support/fake-sa-source.ts); the e2e tier runs the same flag against
 * a real kube-apiserver.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { webhookConfig } from "../../src/core/mutate/config.js";
import { createCa, issueCert, issueServingCert, type Ca, type Cert } from "../../src/adapters/pki/index.js";
import { podAdmitter } from "../../src/webhook/admit.js";
import { WebhookMetrics } from "../../src/webhook/metrics.js";
import { ServiceAccountCache, serviceAccountAnnotationKeys, type Log } from "../../src/webhook/sa-cache.js";
import { startWebhookServer, type WebhookServer } from "../../src/webhook/server.js";
import { FakeServiceAccountSource, quiet } from "../support/fake-sa-source.js";
import { REPO_ROOT } from "../support/paths.js";

const ROLE = "eks.amazonaws.com/role-arn";
const ARN = "arn:aws:iam::111122223333:role/app";

type Json = Record<string, unknown>;

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

interface Answer {
  response: { allowed: boolean; patch?: string; warnings?: string[] };
}

function collect(res: IncomingMessage, resolve: (r: Reply) => void, reject: (e: Error) => void): void {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("end", () => {
    resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
  });
  res.on("error", reject);
}

function post(
  port: number,
  ca: string,
  body: string,
  client: { cert?: string; key?: string } = {},
  timeout = "30s",
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: `/mutate?timeout=${timeout}`,
        method: "POST",
        ca,
        ...client,
        agent: false,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
      },
      (res) => {
        collect(res, resolve, reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function httpGet(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      collect(res, resolve, reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function review(object: Json, uid = "7f0e7c52-2b2f-4c59-9a3f-1f6e7d7a0001"): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      operation: "CREATE",
      namespace: "team-a",
      object,
    },
  });
}

/** A pod with `n` tiny containers: a 40,000-container review is about 650 KB. */
function manyContainers(n: number): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { generateName: "big-", namespace: "team-a" },
    spec: { serviceAccountName: "app", containers: Array.from({ length: n }, (_, i) => ({ name: `${i}` })) },
  };
}

function metricValue(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

function recordingLog(): Log & { readonly lines: { level: string; msg: string; obj: object }[] } {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string) => {
    lines.push({ level, msg, obj });
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

const dir = mkdtempSync(join(tmpdir(), "irsa-webhook-hardening-"));
let ca: Ca;
let serving: Cert;
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
before(async () => {
  ca = await createCa(dir, "hardening test CA");
  serving = await issueServingCert(ca, "serving");
});

async function inProcess(
  extra: Partial<Parameters<typeof startWebhookServer>[0]> = {},
): Promise<{ server: WebhookServer; cache: ServiceAccountCache; log: ReturnType<typeof recordingLog> }> {
  const source = new FakeServiceAccountSource();
  source.put("team-a", "app", { [ROLE]: ARN });
  const config = webhookConfig({ jitter: () => 0 });
  const cache = new ServiceAccountCache(source, {
    annotationKeys: serviceAccountAnnotationKeys(config.annotationPrefix),
    getTimeoutMs: 1000,
    log: quiet,
  });
  cache.start();
  const log = recordingLog();
  // A server that refuses to start must not leave the cache (and its timers) running.
  const server = await startWebhookServer({
    host: "127.0.0.1",
    port: 0,
    metricsPort: 0,
    tlsCertFile: serving.certFile,
    tlsKeyFile: serving.keyFile,
    admitPod: podAdmitter({ config, cache, gracePeriodMs: 100 }),
    ready: () => cache.synced(),
    log,
    metrics: new WebhookMetrics(undefined, false),
    ...extra,
  }).catch(async (e: unknown) => {
    await cache.stop();
    throw e;
  });
  return { server, cache, log };
}

describe("webhook server: one review cannot take the memory of the process", () => {
  it("admits a pod whose patch would be over the bound unchanged, with a warning, without building it", async () => {
    const { server, cache } = await inProcess();
    try {
      const t0 = performance.now();
      const reply = await post(server.port, ca.certPem, review(manyContainers(50_000)));
      const ms = performance.now() - t0;
      assert.equal(reply.status, 200);
      const answer = JSON.parse(reply.body) as Answer;
      assert.equal(answer.response.allowed, true);
      assert.equal(answer.response.patch, undefined, "no patch");
      assert.match(
        answer.response.warnings?.[0] ?? "",
        /pod not mutated: its 50000 containers .* limit of 4096/,
      );
      assert.ok(reply.body.length < 4096, `a small answer (${reply.body.length} bytes)`);
      // Building the 20 MB patch takes about 1 s of CPU; refusing it takes the parse only.
      assert.ok(ms < 3000, `answered in ${ms.toFixed(0)} ms`);
      const m = (await httpGet(server.metricsPort, "/metrics")).body;
      assert.equal(metricValue(m, 'irsa_webhook_admission_requests_total{result="over_limit"}'), 1);
      // A pod with 1,000 containers is still mutated.
      const ok = JSON.parse(
        (await post(server.port, ca.certPem, review(manyContainers(1000)))).body,
      ) as Answer;
      assert.ok(ok.response.patch !== undefined, "1,000 containers: mutated");
    } finally {
      await server.close();
      await cache.stop();
    }
  });

  it("stays up under a 192 MiB heap limit while 650 KB to 3 MB reviews arrive concurrently, answering each", async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "--max-old-space-size=192",
        join(REPO_ROOT, "dist/test/support/webhook-child.js"),
        serving.certFile,
        serving.keyFile,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    let exit: string | undefined;
    child.once("exit", (code, signal) => (exit = signal ?? String(code)));
    try {
      const ports = await new Promise<{ port: number; metricsPort: number }>((resolve, reject) => {
        child.stdout?.once("data", (c: Buffer) => {
          resolve(JSON.parse(c.toString()) as { port: number; metricsPort: number });
        });
        child.once("exit", () => {
          reject(new Error(`child exited: ${stderr}`));
        });
      });
      const medium = review(manyContainers(40_000)); // about 650 KB
      const large = review(manyContainers(170_000)); // just under the 3 MiB body limit
      assert.ok(Buffer.byteLength(large) < 3 * 1024 * 1024 && Buffer.byteLength(large) > 2.5e6);
      // A pod of 1 container with 100,000 env vars (3 MB) naming a missing account, asking to wait
      // 4 s for it: each one parsed (about 9 MB of heap) is held that long.
      const waiting = review({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          generateName: "env-",
          namespace: "team-a",
          annotations: { "eks.amazonaws.com/service-account-lookup-grace-period": "4000" },
        },
        spec: {
          serviceAccountName: "ghost",
          containers: [
            { name: "a", env: Array.from({ length: 100_000 }, (_, i) => ({ name: `E${i}`, value: "v" })) },
          ],
        },
      });
      assert.ok(Buffer.byteLength(waiting) < 3 * 1024 * 1024, `${Buffer.byteLength(waiting)} bytes`);
      const statuses: number[] = [];
      const send = async (body: string, times: number, warning: RegExp, timeout?: string): Promise<void> => {
        const replies = await Promise.all(
          Array.from({ length: times }, () => post(ports.port, ca.certPem, body, {}, timeout)),
        );
        for (const r of replies) {
          statuses.push(r.status);
          if (r.status === 503) assert.equal(r.headers["retry-after"], "1");
          if (r.status !== 200) continue;
          const answer = JSON.parse(r.body) as Answer;
          assert.equal(answer.response.allowed, true);
          assert.match(answer.response.warnings?.[0] ?? "", warning);
        }
      };
      // The patch bound: 16 reviews whose patches would be 8 to 34 MB each, twice.
      for (let round = 0; round < 2; round++) {
        await Promise.all([
          send(medium, 12, /over the webhook's limit/),
          send(large, 4, /over the webhook's limit/),
        ]);
      }
      assert.deepEqual(new Set(statuses), new Set([200]), "the patch bound: every review answered 200");
      // The bytes-in-flight budget: 30 held at once would need about 270 MB of heap. With 8 MiB, two
      // at a time get in; those that find no room before kube-apiserver's deadline (10 s) get 503.
      statuses.length = 0;
      await send(waiting, 30, /^$|not found within [0-9.]+ ms/, "10s");
      const ok = statuses.filter((st) => st === 200).length;
      assert.ok(ok >= 2, `${ok} answered 200`);
      assert.deepEqual(
        statuses.filter((st) => st !== 200 && st !== 503),
        [],
        "the rest refused with 503 (kube-apiserver applies the failure policy)",
      );
      assert.equal(exit, undefined, `the process is alive (stderr: ${stderr.slice(-500)})`);
      assert.equal((await httpGet(ports.metricsPort, "/healthz")).status, 200);
      const m = (await httpGet(ports.metricsPort, "/metrics")).body;
      assert.equal(metricValue(m, 'irsa_webhook_admission_requests_total{result="over_limit"}'), 32);
      assert.equal(metricValue(m, 'irsa_webhook_admission_requests_total{result="unchanged"}'), ok);
      assert.equal(metricValue(m, 'irsa_webhook_admission_requests_total{result="overloaded"}'), 30 - ok);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("webhook server: what a client controls is counted and logged in proportion", () => {
  it("counts a body the server's request timeout cut as timeout, not client_aborted; the client gets 408", async () => {
    const { server, cache } = await inProcess({ requestTimeoutMs: 300 });
    try {
      const received: Buffer[] = [];
      const socket = connect({ host: "127.0.0.1", port: server.port, ca: ca.certPem });
      socket.on("error", () => undefined);
      socket.on("data", (c: Buffer) => received.push(c));
      await new Promise<void>((resolve) => socket.once("secureConnect", resolve));
      socket.write(
        "POST /mutate HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
      );
      await new Promise<void>((resolve) => socket.once("close", resolve));
      assert.match(Buffer.concat(received).toString(), /^HTTP\/1\.1 408/);
      const m = (await httpGet(server.metricsPort, "/metrics")).body;
      assert.equal(metricValue(m, 'irsa_webhook_admission_requests_total{result="timeout"}'), 1);
      assert.equal(metricValue(m, 'irsa_webhook_admission_requests_total{result="client_aborted"}'), 0);
      assert.equal(metricValue(m, 'http_request_count{verb="POST",path="/mutate",code="408"}'), 1);
    } finally {
      await server.close();
      await cache.stop();
    }
  });

  it("logs 500 malformed pods at warn, a few lines in all, and admits each with a warning", async () => {
    const { server, cache, log } = await inProcess();
    try {
      const bad = review({
        apiVersion: "v1",
        kind: "Pod",
        spec: { serviceAccountName: "app", containers: [{ name: "a", env: "x" }] },
      });
      const t0 = performance.now();
      for (let i = 0; i < 500; i += 50) {
        const replies = await Promise.all(
          Array.from({ length: 50 }, () => post(server.port, ca.certPem, bad)),
        );
        for (const r of replies) {
          assert.equal(r.status, 200);
          const answer = JSON.parse(r.body) as Answer;
          assert.equal(answer.response.allowed, true);
          assert.match(
            answer.response.warnings?.[0] ?? "",
            /pod not mutated: invalid pod: spec.containers\[0\].env/,
          );
        }
      }
      assert.deepEqual(
        log.lines.filter((l) => l.level === "error"),
        [],
        "no error lines: the pod is the client's problem",
      );
      const warns = log.lines.filter((l) => l.level === "warn" && l.msg.includes("malformed pod"));
      // The limit is a burst of 10, then 1 line a second: on a loaded machine the 500 take longer,
      // so the bound follows the time they took.
      const seconds = Math.ceil((performance.now() - t0) / 1000);
      assert.ok(
        warns.length >= 1 && warns.length <= 10 + seconds + 1,
        `${warns.length} warn lines for 500 malformed pods in ${seconds} s`,
      );
      const suppressed = warns.reduce((n, l) => n + ((l.obj as { suppressed?: number }).suppressed ?? 0), 0);
      assert.ok(
        suppressed > 0 && warns.length + suppressed <= 500,
        `${suppressed} lines counted as suppressed`,
      );
      const m = (await httpGet(server.metricsPort, "/metrics")).body;
      assert.equal(metricValue(m, 'irsa_webhook_admission_requests_total{result="invalid_pod"}'), 500);
    } finally {
      await server.close();
      await cache.stop();
    }
  });
});

describe("webhook server: --client-ca-file", () => {
  let clientCa: Ca;
  let client: Cert;
  let otherCa: Ca;
  let stranger: Cert;
  const caFile = join(dir, "client-ca.crt");

  before(async () => {
    clientCa = await createCa(
      mkdirSync(join(dir, "client-ca"), { recursive: true }) ?? "",
      "kube-apiserver client CA",
    );
    client = await issueCert(clientCa, {
      name: "apiserver-client",
      commonName: "kube-apiserver",
      usage: "client",
    });
    otherCa = await createCa(mkdirSync(join(dir, "other-ca"), { recursive: true }) ?? "", "another CA");
    stranger = await issueCert(otherCa, { name: "stranger", commonName: "stranger", usage: "client" });
    copyFileSync(clientCa.certFile, caFile);
  });

  it("answers a client with a certificate from the CA, refuses one without or from another CA, and follows a new CA file", async () => {
    const { server, cache } = await inProcess({ clientCaFile: caFile, tlsPollIntervalMs: 100 });
    const body = review({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { generateName: "a-", namespace: "team-a" },
      spec: { serviceAccountName: "app", containers: [{ name: "a" }] },
    });
    try {
      const ok = await post(server.port, ca.certPem, body, { cert: client.certPem, key: client.keyPem });
      assert.equal(ok.status, 200);
      assert.ok((JSON.parse(ok.body) as Answer).response.patch !== undefined, "mutated");
      await assert.rejects(
        post(server.port, ca.certPem, body),
        "no client certificate: refused in the handshake",
      );
      await assert.rejects(
        post(server.port, ca.certPem, body, { cert: stranger.certPem, key: stranger.keyPem }),
        "a certificate from another CA: refused",
      );
      // The CA file now names the other CA (a rotation): its clients get in, the old ones not.
      copyFileSync(otherCa.certFile, `${caFile}.tmp`);
      renameSync(`${caFile}.tmp`, caFile);
      const end = Date.now() + 10_000;
      for (;;) {
        const r = await post(server.port, ca.certPem, body, {
          cert: stranger.certPem,
          key: stranger.keyPem,
        }).catch(() => undefined);
        if (r?.status === 200) break;
        if (Date.now() > end) assert.fail("the new client CA was not picked up within 10 s");
        await new Promise((r2) => setTimeout(r2, 50));
      }
      await assert.rejects(post(server.port, ca.certPem, body, { cert: client.certPem, key: client.keyPem }));
    } finally {
      await server.close();
      await cache.stop();
    }
  });

  it("refuses to start on a client CA file that holds no certificate", async () => {
    const bad = join(dir, "not-a-ca.pem");
    copyFileSync(serving.keyFile, bad);
    await assert.rejects(inProcess({ clientCaFile: bad }), /client CA file .* is not a usable PEM CA bundle/);
  });
});
