/**
 * The webhook server over real HTTPS on loopback, with certificates from the PKI adapter
 * (src/adapters/pki) and Node's https client trusting that CA.
 *
 * The ServiceAccount source differs by part:
 * - "server" tests run startWebhookServer in-process with an in-memory FAKE source (list/watch/get
 *   scripted in memory, test/support/fake-sa-source.ts), to control exactly when the cache syncs
 *   and what a GET finds;
 * - "irsa webhook" tests run the real command as a child process against a FAKE kube API: a small
 *   scripted HTTP server speaking the ServiceAccount list/watch/get endpoints, so the real
 *   @kubernetes/client-node adapter, the flags, SIGTERM handling and the exit code are exercised.
 * Both are fakes of kube-apiserver; the webhook against a real kube-apiserver is the e2e tier.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { connect as tcpConnect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fastJsonPatch from "fast-json-patch";
import { webhookConfig } from "../../src/core/mutate/config.js";
import { podAdmitter } from "../../src/webhook/admit.js";
import { ServiceAccountCache, serviceAccountAnnotationKeys, type Log } from "../../src/webhook/sa-cache.js";
import { WebhookMetrics } from "../../src/webhook/metrics.js";
import { startWebhookServer, type WebhookServer } from "../../src/webhook/server.js";
import { createCa, issueServingCert, type Cert } from "../../src/adapters/pki/index.js";
import { FakeServiceAccountSource, quiet } from "../support/fake-sa-source.js";
import { CLI } from "../support/paths.js";

const ROLE = "eks.amazonaws.com/role-arn";
const ARN = "arn:aws:iam::111122223333:role/app";

// ---------------------------------------------------------------- certificates

/** A certificate and key on disk: an issued pair, or the files the server is told to serve. */
type Pair = Pick<Cert, "certFile" | "keyFile">;

/** Replaces the serving files atomically (as a Secret volume update does). */
function install(pair: Pair, target: Pair): void {
  for (const [from, to] of [
    [pair.certFile, target.certFile],
    [pair.keyFile, target.keyFile],
  ] as const) {
    writeFileSync(`${to}.tmp`, readFileSync(from));
    renameSync(`${to}.tmp`, to);
  }
}

function fingerprint(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

// ---------------------------------------------------------------- HTTP helpers

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

function collect(res: IncomingMessage, resolve: (r: Reply) => void, reject: (e: Error) => void): void {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("end", () => {
    resolve({
      status: res.statusCode ?? 0,
      headers: res.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    });
  });
  res.on("error", reject);
}

/** An HTTPS request on a new connection (so a rotated certificate is seen), trusting `ca`. */
function https(
  port: number,
  ca: string,
  path: string,
  opts: { method?: string; body?: string | Buffer; contentType?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: opts.method ?? "POST",
        ca,
        agent: false,
        headers: opts.body === undefined ? {} : { "Content-Type": opts.contentType ?? "application/json" },
      },
      (res) => {
        collect(res, resolve, reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
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

/** The SHA-256 fingerprint of the certificate the server presents on a new connection. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? "";
      socket.end();
      resolve(fp);
    });
    socket.on("error", reject);
  });
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  obj: object;
  msg: string;
}

/** A Log that keeps every line, to check what was logged at which level. */
function recordingLog(): Log & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry["level"]) =>
    (obj: object, msg: string): void => {
      entries.push({ level, obj, msg });
    };
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

// ---------------------------------------------------------------- AdmissionReviews

type Json = Record<string, unknown>;

function pod(serviceAccountName: string, extra: { annotations?: Record<string, string> } = {}): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { generateName: "app-", namespace: "team-a", annotations: extra.annotations },
    spec: { serviceAccountName, containers: [{ name: "main", image: "busybox" }] },
  };
}

function review(object: Json, opts: { apiVersion?: string; uid?: string; kind?: string } = {}): string {
  return JSON.stringify({
    apiVersion: opts.apiVersion ?? "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: opts.uid ?? "7f0e7c52-2b2f-4c59-9a3f-1f6e7d7a0001",
      kind: { group: "", version: "v1", kind: opts.kind ?? "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      operation: "CREATE",
      namespace: "team-a",
      object,
    },
  });
}

interface Answer {
  apiVersion: string;
  kind: string;
  response: { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[] };
}

function patched(pod: Json, answer: Answer): Json {
  if (answer.response.patch === undefined) return pod;
  const ops = JSON.parse(
    Buffer.from(answer.response.patch, "base64").toString("utf8"),
  ) as fastJsonPatch.Operation[];
  return fastJsonPatch.applyPatch(structuredClone(pod), ops, true, false).newDocument;
}

function envOf(p: Json): Record<string, string> {
  const spec = p.spec as { containers: { env?: { name: string; value: string }[] }[] };
  return Object.fromEntries((spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
}

// ================================================================ in-process server

/** A kubeconfig pointing at the scripted kube API (plain HTTP, no credentials). */
function writeFakeKubeconfig(dir: string, server: string): string {
  const file = join(dir, "kubeconfig");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fake", cluster: { server, "insecure-skip-tls-verify": true } }],
      users: [{ name: "u", user: {} }],
      contexts: [{ name: "c", context: { cluster: "fake", user: "u" } }],
      "current-context": "c",
    }),
  );
  return file;
}

describe("webhook server (in-process, fake ServiceAccount source)", () => {
  const dir = mkdtempSync(join(tmpdir(), "irsa-webhook-it-"));
  let caPem: string;
  let serving: Pair;
  let first: Cert;
  let second: Cert;
  let source: FakeServiceAccountSource;
  let cache: ServiceAccountCache;
  let metrics: WebhookMetrics;
  let server: WebhookServer;
  const serverLog = recordingLog();

  before(async () => {
    const ca = await createCa(dir, "webhook test CA");
    caPem = ca.certPem;
    first = await issueServingCert(ca, "first");
    second = await issueServingCert(ca, "second");
    serving = { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") };
    install(first, serving);

    source = new FakeServiceAccountSource({ holdLists: true });
    source.put("team-a", "app", { [ROLE]: ARN });
    source.put("team-a", "plain");
    const config = webhookConfig({ jitter: () => 0 });
    metrics = new WebhookMetrics(undefined, false);
    cache = new ServiceAccountCache(source, {
      annotationKeys: serviceAccountAnnotationKeys(config.annotationPrefix),
      getTimeoutMs: 1000,
      log: quiet,
      onGet: metrics.onGet,
      onSynced: metrics.onSynced,
    });
    cache.start();
    server = await startWebhookServer({
      host: "127.0.0.1",
      port: 0,
      metricsPort: 0,
      tlsCertFile: serving.certFile,
      tlsKeyFile: serving.keyFile,
      tlsPollIntervalMs: 200,
      admitPod: podAdmitter({ config, cache, gracePeriodMs: 300 }),
      ready: () => cache.synced(),
      log: serverLog,
      metrics,
    });
  });

  after(async () => {
    await server.close();
    await cache.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is alive but not ready before the ServiceAccount cache has synced, ready after", async () => {
    assert.equal((await httpGet(server.metricsPort, "/healthz")).status, 200);
    const notReady = await httpGet(server.metricsPort, "/readyz");
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /not synced/);
    source.releaseLists();
    await until(
      async () => ((await httpGet(server.metricsPort, "/readyz")).status === 200 ? true : undefined),
      "ready",
    );
    assert.equal((await https(server.port, caPem, "/healthz", { method: "GET" })).status, 200);
  });

  it("mutates a valid pod whose ServiceAccount has a role: v1 answer, uid echoed, JSON Patch", async () => {
    const p = pod("app");
    const res = await https(server.port, caPem, "/mutate?timeout=10s", { body: review(p, { uid: "uid-1" }) });
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^application\/json/);
    const answer = JSON.parse(res.body) as Answer;
    assert.equal(answer.apiVersion, "admission.k8s.io/v1");
    assert.equal(answer.kind, "AdmissionReview");
    assert.equal(answer.response.uid, "uid-1");
    assert.equal(answer.response.allowed, true);
    assert.equal(answer.response.patchType, "JSONPatch");
    const out = patched(p, answer);
    assert.equal(envOf(out).AWS_ROLE_ARN, ARN);
    assert.equal(
      envOf(out).AWS_WEB_IDENTITY_TOKEN_FILE,
      "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
    );
    const volumes = (out.spec as { volumes: { name: string }[] }).volumes;
    assert.ok(volumes.some((v) => v.name === "aws-iam-token"));
  });

  it("answers a v1beta1 review in v1beta1", async () => {
    const res = await https(server.port, caPem, "/mutate", {
      body: review(pod("app"), { apiVersion: "admission.k8s.io/v1beta1", uid: "uid-beta" }),
    });
    assert.equal(res.status, 200);
    const answer = JSON.parse(res.body) as Answer;
    assert.equal(answer.apiVersion, "admission.k8s.io/v1beta1");
    assert.equal(answer.response.uid, "uid-beta");
    assert.equal(answer.response.patchType, "JSONPatch");
  });

  it("allows a pod whose ServiceAccount has no role unchanged: no patch, no patchType", async () => {
    const answer = JSON.parse(
      (await https(server.port, caPem, "/mutate", { body: review(pod("plain")) })).body,
    ) as Answer;
    assert.deepEqual(answer.response, { uid: "7f0e7c52-2b2f-4c59-9a3f-1f6e7d7a0001", allowed: true });
  });

  it("allows non-Pod requests unchanged", async () => {
    const res = await https(server.port, caPem, "/mutate", {
      body: review({ data: {} }, { kind: "ConfigMap" }),
    });
    const answer = JSON.parse(res.body) as Answer;
    assert.equal(answer.response.allowed, true);
    assert.equal(answer.response.patch, undefined);
  });

  it("mutates a pod whose ServiceAccount was created just before it (not yet in the cache)", async () => {
    source.put("team-a", "fresh", { [ROLE]: `${ARN}-fresh` });
    const p = pod("fresh");
    const answer = JSON.parse(
      (await https(server.port, caPem, "/mutate", { body: review(p) })).body,
    ) as Answer;
    assert.equal(envOf(patched(p, answer)).AWS_ROLE_ARN, `${ARN}-fresh`);
  });

  it("admits a pod whose ServiceAccount never appears unchanged, after the grace period, with a warning", async () => {
    const t0 = Date.now();
    const answer = JSON.parse(
      (await https(server.port, caPem, "/mutate", { body: review(pod("ghost")) })).body,
    ) as Answer;
    assert.ok(Date.now() - t0 >= 280, "waited the grace period");
    assert.equal(answer.response.allowed, true);
    assert.equal(answer.response.patch, undefined);
    assert.match(answer.response.warnings?.[0] ?? "", /team-a\/ghost not found within 300 ms/);
    assert.equal(cache.pendingCount(), 0);
  });

  const bad: [string, string | Buffer, RegExp][] = [
    ["malformed JSON", "{", /body: not valid JSON/],
    ["no uid", review(pod("app"), { uid: "" }), /request\.uid: must not be empty/],
    [
      "containers not a list",
      review({ spec: { containers: "main" } }),
      /request\.object\.spec\.containers: expected an array/,
    ],
  ];
  for (const [name, body, message] of bad) {
    it(`answers ${name} with 400 and a JSON message naming the field`, async () => {
      const res = await https(server.port, caPem, "/mutate", { body });
      assert.equal(res.status, 400);
      const err = JSON.parse(res.body) as { error: string; message: string };
      assert.equal(err.error, "ADMISSION_REVIEW_INVALID");
      assert.match(err.message, message);
    });
  }

  it("answers a wrong method 405, a wrong content type 415 and an oversized body 413", async () => {
    assert.equal((await https(server.port, caPem, "/mutate", { method: "GET" })).status, 405);
    assert.equal(
      (await https(server.port, caPem, "/mutate", { body: "x", contentType: "text/plain" })).status,
      415,
    );
    const huge = Buffer.alloc(3 * 1024 * 1024 + 1, 0x20);
    const res = await https(server.port, caPem, "/mutate", { body: huge });
    assert.equal(res.status, 413);
    assert.match(res.body, /limit/);
    assert.equal((await https(server.port, caPem, "/nope", { method: "GET" })).status, 404);
  });

  it("serves a rotated certificate without a restart, and keeps it when a bad pair follows", async () => {
    assert.equal(await servedFingerprint(server.port, caPem), fingerprint(first.certFile));
    install(second, serving);
    await until(
      async () =>
        (await servedFingerprint(server.port, caPem)) === fingerprint(second.certFile) ? true : undefined,
      "the rotated certificate",
    );
    // A key that does not match the certificate: rejected, the previous pair stays.
    install({ certFile: first.certFile, keyFile: second.keyFile }, serving);
    await until(async () => {
      const m = await httpGet(server.metricsPort, "/metrics");
      return /irsa_webhook_tls_reloads_total\{result="error"\} 1/.test(m.body) ? true : undefined;
    }, "the rejected reload");
    assert.equal(await servedFingerprint(server.port, caPem), fingerprint(second.certFile));
    const ok = await https(server.port, caPem, "/mutate", { body: review(pod("app")) });
    assert.equal(ok.status, 200);
    install(first, serving); // valid again
    await until(
      async () =>
        (await servedFingerprint(server.port, caPem)) === fingerprint(first.certFile) ? true : undefined,
      "recovery",
    );
  });

  it("exposes the latency histogram with sub-millisecond buckets and counts by result", async () => {
    const res = await httpGet(server.metricsPort, "/metrics");
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain/);
    const m = res.body;
    assert.match(m, /# TYPE irsa_webhook_admission_duration_seconds histogram/);
    assert.match(m, /irsa_webhook_admission_duration_seconds_bucket\{le="0.00005",result="mutated"\} \d+/);
    assert.match(m, /irsa_webhook_admission_duration_seconds_bucket\{le="0\.001",result="mutated"\} \d+/);
    assert.match(m, /irsa_webhook_admission_duration_seconds_count\{result="mutated"\} [1-9]/);
    assert.match(m, /irsa_webhook_admission_requests_total\{result="invalid"\} 3/);
    assert.match(m, /irsa_webhook_admission_requests_total\{result="unchanged"\} [1-9]/);
    assert.match(m, /irsa_webhook_admission_requests_total\{result="too_large"\} 1/);
    assert.match(m, /irsa_webhook_service_account_lookups_total\{via="get"\} 1/);
    assert.match(m, /irsa_webhook_service_account_gets_total\{outcome="found"\} 1/);
    assert.match(m, /irsa_webhook_service_account_cache_synced 1/);
    assert.match(m, /irsa_webhook_tls_reloads_total\{result="ok"\} 2/);
    assert.match(m, /http_request_count\{verb="POST",path="\/mutate",code="200"\} [1-9]/);
    assert.match(
      m,
      /http_request_count\{verb="GET",path="other",code="404"\} 1/,
      "unknown paths share one label",
    );
  });

  it("counts a client that hangs up mid-body as client_aborted: no error log, no 500, nothing sent", async () => {
    const logged = serverLog.entries.length;
    const body = review(pod("app"));
    const received: Buffer[] = [];
    const socket = connect({ host: "127.0.0.1", port: server.port, ca: caPem });
    socket.on("error", () => undefined);
    socket.on("data", (c: Buffer) => received.push(c));
    await new Promise<void>((resolve) => socket.once("secureConnect", resolve));
    socket.write(
      "POST /mutate HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, body.length >> 1)}`,
    );
    await new Promise((r) => setTimeout(r, 200)); // the server is reading the body
    socket.destroy();
    const m = await until(async () => {
      const res = await httpGet(server.metricsPort, "/metrics");
      return /irsa_webhook_admission_requests_total\{result="client_aborted"\} 1\n/.test(res.body)
        ? res.body
        : undefined;
    }, "the client_aborted count");
    assert.match(m, /irsa_webhook_admission_duration_seconds_count\{result="client_aborted"\} 1\n/);
    assert.doesNotMatch(m, /irsa_webhook_admission_requests_total\{result="error"\}/);
    assert.doesNotMatch(m, /http_request_count\{[^}]*code="500"\}/);
    assert.equal(Buffer.concat(received).length, 0, "nothing was sent");
    const lines = serverLog.entries.slice(logged);
    assert.deepEqual(
      lines.filter((e) => e.level === "error" || e.level === "warn"),
      [],
      "nothing logged at warn or error",
    );
    assert.ok(
      lines.every((e) => !JSON.stringify(e.obj).includes("    at ")),
      "no stack trace logged",
    );
  });

  it("cuts connections stalled in the TLS handshake or the request headers, but not idle keep-alive ones", async () => {
    // Slowloris: each stalled connection holds a file descriptor. kube-apiserver sends the whole
    // request at once and gives up after at most 30 s, so waiting minutes for it only helps an attacker.
    const closed = (socket: Socket): Promise<number> =>
      new Promise((resolve) => {
        socket.on("error", () => undefined);
        socket.resume(); // read the server's 408 and end, so "close" can follow
        socket.on("close", () => {
          resolve(Date.now());
        });
      });
    const deadline = (ms: number): Promise<number> =>
      new Promise((resolve) => {
        setTimeout(() => {
          resolve(Number.POSITIVE_INFINITY);
        }, ms).unref();
      });
    const t0 = Date.now();
    const noHandshake = tcpConnect(server.port, "127.0.0.1");
    const noHandshakeClosed = closed(noHandshake);
    const halfHeaders = connect({ host: "127.0.0.1", port: server.port, ca: caPem }, () => {
      halfHeaders.write("POST /mutate HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\n");
    });
    const halfHeadersClosed = closed(halfHeaders);
    // A keep-alive connection as kube-apiserver keeps one: a review, then idle, then another.
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: caPem });
    const onAgent = (): Promise<{ status: number; localPort: number | undefined }> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port: server.port,
            path: "/mutate",
            method: "POST",
            agent,
            headers: { "Content-Type": "application/json" },
          },
          (res) => {
            const localPort = res.socket.localPort;
            res.resume();
            res.on("end", () => {
              resolve({ status: res.statusCode ?? 0, localPort });
            });
          },
        );
        req.on("error", reject);
        req.end(review(pod("app")));
      });
    try {
      const firstReview = await onAgent();
      assert.equal(firstReview.status, 200);
      const limit = deadline(20_000);
      const stalled = [
        await Promise.race([noHandshakeClosed, limit]),
        await Promise.race([halfHeadersClosed, limit]),
      ].map((t) => t - t0);
      assert.ok(
        stalled[0] !== undefined && stalled[0] <= 15_000,
        `no handshake: closed after ${stalled[0]} ms`,
      );
      assert.ok(
        stalled[1] !== undefined && stalled[1] <= 15_000,
        `half headers: closed after ${stalled[1]} ms`,
      );
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + 12_000 - Date.now())));
      const secondReview = await onAgent();
      assert.equal(secondReview.status, 200);
      assert.equal(secondReview.localPort, firstReview.localPort, "the idle connection was kept and reused");
    } finally {
      noHandshake.destroy();
      halfHeaders.destroy();
      agent.destroy();
    }
  });

  it("finishes an in-flight review when closing, then refuses new connections", async () => {
    const gets = source.getCalls.length;
    const slow = https(server.port, caPem, "/mutate", { body: review(pod("late")) }); // waits the grace period
    // In flight once its account's GET has gone out (a fixed sleep lost the race on a loaded machine).
    await until(
      () => Promise.resolve(source.getCalls.slice(gets).includes("team-a/late") || undefined),
      "the review's GET",
    );
    const closing = server.close();
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as Answer).response.allowed, true);
    await closing;
    await assert.rejects(https(server.port, caPem, "/healthz", { method: "GET" }), /ECONNREFUSED/);
  });
});

describe("webhook server: serving certificate validity", () => {
  const dir = mkdtempSync(join(tmpdir(), "irsa-webhook-validity-"));
  const DAY = 86_400_000;
  let clock = Date.now();
  let caPem: string;
  let serving: Pair;
  let first: Cert;
  let second: Cert;
  let metrics: WebhookMetrics;

  const start = (): Promise<WebhookServer> =>
    startWebhookServer({
      host: "127.0.0.1",
      port: 0,
      metricsPort: 0,
      tlsCertFile: serving.certFile,
      tlsKeyFile: serving.keyFile,
      tlsPollIntervalMs: 60_000,
      admitPod: () => Promise.resolve({ patch: [], reason: "test" }),
      ready: () => true,
      log: quiet,
      metrics,
      now: () => new Date(clock),
    });
  const notAfterGauge = async (port: number): Promise<number> => {
    const m = /^irsa_webhook_tls_certificate_not_after_seconds (\S+)$/m.exec(
      (await httpGet(port, "/metrics")).body,
    );
    return Number(m?.[1]);
  };
  const notAfter = (c: Cert): number => new X509Certificate(c.certPem).validToDate.getTime() / 1000;

  before(async () => {
    const ca = await createCa(dir, "validity test CA");
    caPem = ca.certPem;
    first = await issueServingCert(ca, "first"); // valid for 2 days from now
    second = await issueServingCert(ca, "second");
    serving = { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") };
    install(first, serving);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to start on an expired certificate, and on one not valid yet, naming the dates", async () => {
    metrics = new WebhookMetrics(undefined, false);
    clock = Date.now() + 3 * DAY;
    await assert.rejects(start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, "TLS_EXPIRED");
      assert.match(e.message, /tls\.crt expired at \d{4}-/);
      return true;
    });
    clock = Date.now() - 3 * DAY;
    await assert.rejects(start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, "TLS_NOT_YET_VALID");
      assert.match(e.message, /not valid before \d{4}-/);
      return true;
    });
  });

  it("exports the served certificate's expiry, and never swaps in an expired pair", async () => {
    metrics = new WebhookMetrics(undefined, false);
    clock = Date.now();
    const server = await start();
    try {
      assert.equal(await notAfterGauge(server.metricsPort), notAfter(first));
      // Time passes beyond the new pair's end: the reload is refused, counted, the old pair stays.
      clock = Date.now() + 3 * DAY;
      install(second, serving);
      assert.equal(await server.reloadTls(), false);
      assert.match(
        (await httpGet(server.metricsPort, "/metrics")).body,
        /irsa_webhook_tls_reloads_total\{result="error"\} 1/,
      );
      assert.equal(await servedFingerprint(server.port, caPem), fingerprint(first.certFile));
      assert.equal(await notAfterGauge(server.metricsPort), notAfter(first));
      // Back within the pair's validity: swapped in, and the gauge follows.
      // A reload the file watcher started under the old clock may still be in flight (and a
      // concurrent reloadTls() shares its result), so ask until the new pair is served.
      clock = Date.now();
      await until(async () => {
        await server.reloadTls();
        return (await servedFingerprint(server.port, caPem)) === fingerprint(second.certFile)
          ? true
          : undefined;
      }, "the new pair once it is valid");
      assert.equal(await notAfterGauge(server.metricsPort), notAfter(second));
    } finally {
      await server.close();
    }
  });
});

// ================================================================ irsa webhook, child process

interface FakeKube {
  url: string;
  items: Map<string, Json>;
  /** Releases the first list (held to test readiness). */
  releaseList(): void;
  emit(type: string, sa: Json): void;
  /** Number of open watch streams. */
  watching(): number;
  close(): Promise<void>;
}

function saObject(ns: string, name: string, annotations: Record<string, string> = {}, rv = "5"): Json {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace: ns, annotations, resourceVersion: rv, uid: `${ns}-${name}` },
  };
}

/** A scripted HTTP FAKE of kube-apiserver's ServiceAccount list, watch and get (see file comment). */
async function startFakeKube(): Promise<FakeKube> {
  const items = new Map<string, Json>();
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const watches = new Set<ServerResponse>();
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/api/v1/serviceaccounts" && url.searchParams.get("watch") === "true") {
      res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
      res.flushHeaders();
      watches.add(res);
      res.on("close", () => watches.delete(res));
      return;
    }
    if (url.pathname === "/api/v1/serviceaccounts") {
      void gate.then(() => {
        json(res, 200, {
          apiVersion: "v1",
          kind: "ServiceAccountList",
          metadata: { resourceVersion: "10" },
          items: [...items.values()],
        });
      });
      return;
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const sa = items.get(`${m[1] ?? ""}/${m[2] ?? ""}`);
      if (sa) json(res, 200, sa);
      else
        json(res, 404, {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "NotFound",
          code: 404,
        });
      return;
    }
    json(res, 404, { kind: "Status", code: 404 });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    items,
    releaseList: () => {
      release();
    },
    watching: () => watches.size,
    emit(type, sa) {
      for (const w of watches) w.write(`${JSON.stringify({ type, object: sa })}\n`);
    },
    close: () =>
      new Promise<void>((r) => {
        for (const w of watches) w.end();
        server.close(() => {
          r();
        });
        server.closeAllConnections();
      }),
  };
}

/**
 * Starts `irsa webhook` with `args` as a child process, collects its stdout lines into `logs` (JSON,
 * or `{ raw }`), and resolves once it logs that it listens (30 s at most: a loaded machine).
 */
async function spawnWebhook(
  args: readonly string[],
  logs: Json[],
): Promise<{ child: ChildProcess; closed: Promise<number | null>; port: number; metricsPort: number }> {
  const child = spawn(process.execPath, [CLI, "webhook", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const closed = new Promise<number | null>((r) =>
    child.on("close", (code) => {
      r(code);
    }),
  );
  let buf = "";
  child.stdout.on("data", (d: Buffer) => {
    buf += d.toString("utf8");
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Json);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  const listening = await until(
    () => {
      if (child.exitCode !== null) throw new Error(`irsa webhook exited ${child.exitCode}: ${stderr}`);
      return Promise.resolve(logs.find((l) => l.msg === "webhook listening"));
    },
    "the listening log line",
    30_000,
  );
  return { child, closed, port: Number(listening.port), metricsPort: Number(listening.metricsPort) };
}

describe("irsa webhook (child process, fake kube API)", () => {
  const dir = mkdtempSync(join(tmpdir(), "irsa-webhook-cli-"));
  let caPem: string;
  let kube: FakeKube;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  const logs: Json[] = [];
  let port = 0;
  let metricsPort = 0;

  before(async () => {
    const ca = await createCa(dir, "webhook test CA");
    caPem = ca.certPem;
    const serving = await issueServingCert(ca, "webhook");
    kube = await startFakeKube();
    kube.items.set("team-a/app", saObject("team-a", "app", { [ROLE]: ARN }));
    const kubeconfig = writeFakeKubeconfig(dir, kube.url);
    ({
      child,
      closed: exited,
      port,
      metricsPort,
    } = await spawnWebhook(
      [
        "--port=0",
        "--metrics-port=0",
        "--bind-address=127.0.0.1",
        `--tls-cert=${serving.certFile}`,
        `--tls-key=${serving.keyFile}`,
        `--kubeconfig=${kubeconfig}`,
        "--namespace=default",
        "--in-cluster=false",
        "--logtostderr",
        "--service-account-lookup-grace-period=2s",
        "--aws-default-region=eu-west-1",
        "--log-level=debug",
      ],
      logs,
    ));
  });

  after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("logs JSON and is not ready until the first list completes", async () => {
    assert.ok(
      logs.every((l) => typeof l.level === "number" && typeof l.time === "string"),
      "pino JSON lines",
    );
    assert.equal((await httpGet(metricsPort, "/readyz")).status, 503);
    assert.equal((await httpGet(metricsPort, "/healthz")).status, 200);
    kube.releaseList();
    await until(
      async () => ((await httpGet(metricsPort, "/readyz")).status === 200 ? true : undefined),
      "ready",
    );
  });

  it("mutates through the real client-node list, watch and GET", async () => {
    const p = pod("app");
    let answer = JSON.parse((await https(port, caPem, "/mutate", { body: review(p) })).body) as Answer;
    assert.equal(envOf(patched(p, answer)).AWS_ROLE_ARN, ARN);
    assert.equal(envOf(patched(p, answer)).AWS_REGION, "eu-west-1");

    await until(() => Promise.resolve(kube.watching() > 0 ? true : undefined), "the watch stream");
    kube.emit("ADDED", saObject("team-a", "watched", { [ROLE]: `${ARN}-watched` }, "11"));
    await until(async () => {
      const a = JSON.parse(
        (await https(port, caPem, "/mutate", { body: review(pod("watched")) })).body,
      ) as Answer;
      return a.response.patch !== undefined ? a : undefined;
    }, "the watched account");

    kube.items.set("team-a/direct", saObject("team-a", "direct", { [ROLE]: `${ARN}-direct` }));
    const p2 = pod("direct");
    answer = JSON.parse((await https(port, caPem, "/mutate", { body: review(p2) })).body) as Answer;
    assert.equal(envOf(patched(p2, answer)).AWS_ROLE_ARN, `${ARN}-direct`, "found by the direct GET");
    await until(
      () => Promise.resolve(logs.find((l) => l.msg === "pod mutated" && l.lookup === "get")),
      "the log line of the mutation answered by the GET",
    );
  });

  it("on SIGTERM finishes the in-flight review, then exits 0", async () => {
    // Waits for an account that never comes: 600 ms by the pod's annotation.
    const slowPod = pod("never", {
      annotations: { "eks.amazonaws.com/service-account-lookup-grace-period": "600" },
    });
    const slow = https(port, caPem, "/mutate", { body: review(slowPod) });
    await until(
      () => Promise.resolve(logs.find((l) => l.msg === "service account not found by direct lookup")),
      "the wait",
    );
    child.kill("SIGTERM");
    const res = await slow;
    assert.equal(res.status, 200);
    assert.match((JSON.parse(res.body) as Answer).response.warnings?.[0] ?? "", /not found within 600 ms/);
    assert.equal(await exited, 0);
    assert.ok(logs.some((l) => l.msg === "webhook stopped"));
  });
});

describe("irsa webhook --watch-container-credentials-config (child process, fake kube API)", () => {
  const dir = mkdtempSync(join(tmpdir(), "irsa-webhook-cc-"));
  const ccFile = join(dir, "container-credentials.json");
  let caPem: string;
  let kube: FakeKube;
  let child: ChildProcess;
  const logs: Json[] = [];
  let port = 0;

  /** Replaces the file atomically, as a ConfigMap volume update does. */
  const listFor = (...serviceAccounts: string[]): void => {
    const identities = serviceAccounts.map((serviceAccount) => ({ namespace: "team-a", serviceAccount }));
    writeFileSync(`${ccFile}.tmp`, JSON.stringify({ identities }));
    renameSync(`${ccFile}.tmp`, ccFile);
  };
  const admit = async (sa: string): Promise<Json> => {
    const p = pod(sa);
    return patched(p, JSON.parse((await https(port, caPem, "/mutate", { body: review(p) })).body) as Answer);
  };
  const labelsOf = (p: Json): unknown => (p.metadata as { labels?: unknown }).labels;
  const volumesOf = (p: Json): unknown[] => (p.spec as { volumes?: unknown[] }).volumes ?? [];

  before(async () => {
    const ca = await createCa(dir, "webhook test CA");
    caPem = ca.certPem;
    const serving = await issueServingCert(ca, "webhook");
    kube = await startFakeKube();
    kube.items.set("team-a/app", saObject("team-a", "app", { [ROLE]: ARN }));
    kube.items.set("team-a/plain", saObject("team-a", "plain"));
    kube.releaseList();
    listFor("plain");
    const kubeconfig = writeFakeKubeconfig(dir, kube.url);
    let metricsPort: number;
    ({ child, port, metricsPort } = await spawnWebhook(
      [
        "--port=0",
        "--metrics-port=0",
        "--bind-address=127.0.0.1",
        `--tls-cert=${serving.certFile}`,
        `--tls-key=${serving.keyFile}`,
        `--kubeconfig=${kubeconfig}`,
        "--in-cluster=false",
        `--watch-container-credentials-config=${ccFile}`,
      ],
      logs,
    ));
    await until(
      async () => ((await httpGet(metricsPort, "/readyz")).status === 200 ? true : undefined),
      "ready",
    );
  });

  after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await kube.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives a listed account's pod the EKS Pod Identity env vars, token volume and label", async () => {
    const p = await admit("plain");
    const env = envOf(p);
    assert.equal(env.AWS_CONTAINER_CREDENTIALS_FULL_URI, "http://169.254.170.23/v1/credentials");
    assert.equal(
      env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
      "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
    );
    assert.equal(env.AWS_ROLE_ARN, undefined);
    assert.deepEqual(labelsOf(p), { "eks.amazonaws.com/pod-identity": "enabled" });
    const volumes = volumesOf(p) as {
      name: string;
      projected: {
        sources: { serviceAccountToken: { audience: string; path: string; expirationSeconds: number } }[];
      };
    }[];
    assert.deepEqual(
      volumes.map((v) => v.name),
      ["eks-pod-identity-token"],
    );
    const token = volumes[0]?.projected.sources[0]?.serviceAccountToken;
    assert.equal(token?.audience, "pods.eks.amazonaws.com");
    assert.equal(token.path, "eks-pod-identity-token");
    // The default lifetime in this mode is jittered between 22 h and 24 h, as upstream does.
    assert.ok(
      token.expirationSeconds >= 79_200 && token.expirationSeconds <= 86_400,
      `${token.expirationSeconds}`,
    );
    const mounts = (p.spec as { containers: { volumeMounts?: { name: string; mountPath: string }[] }[] })
      .containers[0]?.volumeMounts;
    assert.deepEqual(
      mounts?.map((m) => [m.name, m.mountPath]),
      [["eks-pod-identity-token", "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"]],
    );
    // An account not listed keeps web identity.
    assert.equal(envOf(await admit("app")).AWS_ROLE_ARN, ARN);
  });

  it("follows the file while running: a newly listed account switches mode, a dropped one loses it", async () => {
    listFor("app");
    const switched = await until(async () => {
      const p = await admit("app");
      return envOf(p).AWS_CONTAINER_CREDENTIALS_FULL_URI === undefined ? undefined : p;
    }, "the reloaded list to apply");
    assert.equal(
      envOf(switched).AWS_ROLE_ARN,
      undefined,
      "container credentials take precedence over the role",
    );
    assert.deepEqual(labelsOf(switched), { "eks.amazonaws.com/pod-identity": "enabled" });
    // "plain" has no role annotation: no longer listed, it is left alone.
    const plain = await admit("plain");
    assert.deepEqual(envOf(plain), {});
    assert.equal(labelsOf(plain), undefined);
    // Log lines are buffered (up to 250 ms): wait for it rather than expect it with the effect.
    await until(
      () =>
        Promise.resolve(
          logs.find((l) => l.msg === "container credentials config reloaded" && l.identities === 1),
        ),
      "the reload's log line",
    );
  });
});
