/**
 * The webhook over real HTTPS on loopback, beside a baseline measured in the same run: a bare Node
 * HTTPS server with the same certificate that parses each AdmissionReview and answers "allowed"
 * with no patch, the floor of any Node webhook. Also: the size of our targeted patches beside
 * upstream's whole-container patches for upstream's own test pods.
 *
 * Both servers and the load generator share this process (2 cores): compare the rows, not the
 * absolute numbers with a cluster's. Run: node dist/bench/webhook.js [requests] [concurrency]
 */
import { readdirSync, readFileSync } from "node:fs";
import { createServer, request, Agent } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { defaultServiceAccountSettings, mutationPatch, webhookConfig } from "../src/core/mutate/index.js";
import { podAdmitter } from "../src/webhook/admit.js";
import { ServiceAccountCache, serviceAccountAnnotationKeys } from "../src/webhook/sa-cache.js";
import { WebhookMetrics } from "../src/webhook/metrics.js";
import { startWebhookServer } from "../src/webhook/server.js";
import { silentLog as quiet } from "../src/runtime/log.js";
import { createCa, issueServingCert } from "../src/adapters/pki/index.js";
import { stopAll, tempDir } from "../src/stack/processes.js";
import { fmt, percentile, table } from "./lib.js";

/** Upstream's test pods, data kept in the repository (this file runs as dist/bench/webhook.js). */
const UPSTREAM_WEBHOOK_FIXTURES = fileURLToPath(
  new URL("../../test/fixtures/upstream-webhook/", import.meta.url),
);

const REQUESTS = Number(process.argv[2] ?? 4000);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const ROLE_ARN = "arn:aws:iam::111122223333:role/app";

function review(i: number): string {
  const container = (name: string) => ({
    name,
    image: `registry.example.com/${name}:1`,
    env: Array.from({ length: 8 }, (_, j) => ({ name: `VAR_${j}`, value: `v${j}` })),
    resources: { requests: { cpu: "100m" } },
    startupProbe: { httpGet: { path: "/healthz", port: 8080 } },
  });
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `uid-${i}`,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      operation: "CREATE",
      namespace: "prod",
      object: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `app-${i}`, namespace: "prod" },
        spec: { serviceAccountName: "app", containers: [container("app"), container("sidecar")] },
      },
    },
  });
}

interface LoadResult {
  readonly latenciesUs: number[];
  readonly seconds: number;
  readonly patched: number;
}

async function load(port: number, ca: string): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca });
  const bodies = Array.from({ length: 64 }, (_, i) => review(i));
  const latenciesUs: number[] = [];
  let next = 0;
  let patched = 0;
  const one = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/mutate",
          method: "POST",
          agent,
          headers: { "Content-Type": "application/json" },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            latenciesUs.push(Number(process.hrtime.bigint() - t0) / 1000);
            if (res.statusCode !== 200) reject(new Error(`HTTP ${String(res.statusCode)}`));
            if (Buffer.concat(chunks).includes('"patch"')) patched++;
            resolve();
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const worker = async () => {
    while (next < REQUESTS) await one(bodies[next++ % bodies.length] ?? "");
  };
  for (let i = 0; i < 200; i++) await one(bodies[i % bodies.length] ?? ""); // warm-up
  latenciesUs.length = 0;
  patched = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  return { latenciesUs, seconds, patched };
}

function row(name: string, r: LoadResult): string[] {
  const l = r.latenciesUs;
  return [
    name,
    fmt(percentile(l, 50), 0),
    fmt(percentile(l, 90), 0),
    fmt(percentile(l, 99), 0),
    fmt(l.length / r.seconds, 0),
    String(r.patched),
  ];
}

/** Bytes of upstream's expected patch and of ours, over upstream's own test pods. */
function patchSizes(): { cases: number; upstream: number; ours: number } {
  const dir = UPSTREAM_WEBHOOK_FIXTURES;
  let upstream = 0;
  let ours = 0;
  let cases = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".pod.yaml"))) {
    const pod = parseYaml(readFileSync(join(dir, f), "utf8"), { uniqueKeys: false }) as {
      metadata: { annotations: Record<string, string> };
    };
    const a = pod.metadata.annotations;
    const expected = a["testing.eks.amazonaws.com/expectedPatch"];
    const role = a["testing.eks.amazonaws.com/serviceAccount/roleArn"];
    if (expected === undefined || role === undefined) continue;
    const config = webhookConfig({ jitter: () => 0 });
    const sa = {
      ...defaultServiceAccountSettings(config),
      roleArn: role,
      audience: a["testing.eks.amazonaws.com/serviceAccount/audience"] ?? config.tokenAudience,
    };
    upstream += Buffer.byteLength(expected);
    ours += Buffer.byteLength(JSON.stringify(mutationPatch(pod, sa, config).patch));
    cases++;
  }
  return { cases, upstream, ours };
}

async function main(): Promise<void> {
  const dir = await tempDir("bench-webhook");
  const ca = await createCa(dir);
  const cert = await issueServingCert(ca, "webhook");

  const baseline = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = JSON.parse(Buffer.concat(chunks).toString()) as { request: { uid: string } };
      const body = JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid: r.request.uid, allowed: true },
      });
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => baseline.listen(0, "127.0.0.1", r));
  const baselineResult = await load((baseline.address() as AddressInfo).port, ca.certPem);
  await new Promise<void>((r) => {
    baseline.close(() => {
      r();
    });
  });

  const config = webhookConfig({ awsDefaultRegion: "eu-west-1", jitter: () => 0 });
  const cache = new ServiceAccountCache(
    {
      list: () =>
        Promise.resolve({
          items: [
            { namespace: "prod", name: "app", annotations: { "eks.amazonaws.com/role-arn": ROLE_ARN } },
          ],
          resourceVersion: "1",
        }),
      watch: (_rv, _on, signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            resolve();
          });
        }),
      get: () => Promise.resolve(undefined),
    },
    { annotationKeys: serviceAccountAnnotationKeys(config.annotationPrefix), getTimeoutMs: 1000, log: quiet },
  );
  cache.start();
  const server = await startWebhookServer({
    host: "127.0.0.1",
    port: 0,
    metricsHost: "127.0.0.1",
    metricsPort: 0,
    tlsCertFile: cert.certFile,
    tlsKeyFile: cert.keyFile,
    admitPod: podAdmitter({ config, cache, gracePeriodMs: 1000 }),
    ready: () => cache.synced(),
    log: quiet,
    metrics: new WebhookMetrics(undefined, false),
  });
  while (!cache.synced()) await new Promise((r) => setTimeout(r, 10));
  const ours = await load(server.port, ca.certPem);
  await server.close();
  await cache.stop();

  console.log(`webhook over HTTPS, ${REQUESTS} reviews, ${CONCURRENCY} concurrent keep-alive connections`);
  console.log(
    table(
      ["server", "p50 µs", "p90 µs", "p99 µs", "reviews/s", "patched"],
      [row("baseline: parse + allow, no patch", baselineResult), row("irsa webhook (lookup + patch)", ours)],
    ),
  );
  const sizes = patchSizes();
  console.log(`\npatch bytes over upstream's ${sizes.cases} web-identity test pods`);
  console.log(
    table(
      ["patch", "bytes", "x upstream"],
      [
        ["upstream (whole container arrays)", String(sizes.upstream), "1.00"],
        ["irsa (targeted adds)", String(sizes.ours), fmt(sizes.ours / sizes.upstream, 2)],
      ],
    ),
  );
}

try {
  await main();
} finally {
  await stopAll();
}
