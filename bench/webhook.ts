/**
 * The webhook under load, beside a bare Node.js HTTPS server (the floor of any Node webhook) and
 * upstream's webhook (when test/peers/build-upstream-webhook.sh has built it), each its own process
 * pinned to CPU 0. The load comes from vegeta (test/peers/build-vegeta.sh, built when missing) pinned
 * to CPU 1: it sends at a fixed rate whatever the latency (an open model), so a slow answer cannot
 * hold the next request back and hide its own delay (no coordinated omission). Every request is the
 * AdmissionReview kube-apiserver sent for a 4-container pod (test/fixtures/admission-review, 14 KB with
 * its managedFields), over HTTP/1.1 keep-alive. Each round runs every server at each fixed rate and
 * at saturation (a closed loop), all over `BENCH_WORKERS` keep-alive connections, the servers' order rotating from
 * round to round; the table gives the medians over rounds and the ratios to the other servers.
 *
 * Run: node dist/bench/webhook.js  (env: BENCH_ROUNDS=3, BENCH_SECONDS=10, BENCH_RATES=500,1000,
 * BENCH_WORKERS=8, BENCH_UPSTREAM=0 to leave upstream out, IRSA_VEGETA and IRSA_UPSTREAM_WEBHOOK to use other binaries, BENCH_NODE_ARGS for
 * our webhook's node flags, e.g. --cpu-prof)
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { createCa, issueServingCert } from "../src/adapters/pki/index.js";
import { httpCall } from "../src/stack/http.js";
import { stopAll, tempDir } from "../src/stack/processes.js";
import { fmt, table } from "./lib.js";
import {
  cpuSeconds,
  peerBinary,
  pinned,
  REPO,
  rss,
  startBare,
  startFakeKubeApi,
  startOurs,
  startUpstream,
  type BenchServer,
} from "./webhook-servers.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATES = (process.env.BENCH_RATES ?? "500,1000")
  .split(",")
  .filter((x) => x !== "")
  .map(Number);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 8);
const REVIEW = join(REPO, "test/fixtures/admission-review/pod-create.json");

interface Sample {
  readonly p50us: number;
  readonly p99us: number;
  readonly maxUs: number;
  /** Successful answers per second. */
  readonly throughput: number;
  readonly success: number;
  readonly cpuUsPerReview: number;
}

interface VegetaReport {
  latencies: { "50th": number; "99th": number; max: number };
  throughput: number;
  success: number;
  requests: number;
  status_codes: Record<string, number>;
  errors: string[] | null;
}

function attack(vegeta: string, dir: string, s: BenchServer, rate: number | "max", caFile: string): Sample {
  const targets = join(dir, `targets-${s.port}.txt`);
  writeFileSync(
    targets,
    `POST https://127.0.0.1:${s.port}/mutate?timeout=10s\nContent-Type: application/json\n@${join(dir, "review.json")}\n`,
  );
  const out = join(dir, "results.bin");
  const rateArgs =
    rate === "max" ? ["-rate=0", `-max-workers=${WORKERS}`, `-workers=${WORKERS}`] : [`-rate=${rate}/1s`];
  const cpu0 = cpuSeconds(s.proc.pid);
  const [cmd, args] = pinned(1, vegeta, [
    "attack",
    `-targets=${targets}`,
    `-duration=${SECONDS}s`,
    `-root-certs=${caFile}`,
    "-http2=false",
    "-keepalive=true",
    "-max-body=0",
    // A fixed pool of keep-alive connections, as wrk2 -c: a request that finds none free waits,
    // and that wait counts in its latency (it was sent on schedule).
    `-max-connections=${WORKERS}`,
    "-timeout=10s",
    `-output=${out}`,
    ...rateArgs,
  ]);
  const a = spawnSync(cmd, args, { encoding: "utf8" });
  if (a.status !== 0) throw new Error(`vegeta attack on ${s.name}: ${a.stderr}`);
  const cpu = cpuSeconds(s.proc.pid) - cpu0;
  const r = spawnSync(vegeta, ["report", "-type=json", out], { encoding: "utf8" });
  const rep = JSON.parse(r.stdout) as VegetaReport;
  const ok = rep.status_codes["200"] ?? 0;
  if (rep.success < 0.999) {
    process.stderr.write(
      `  ${s.name} at ${rate}: success ${rep.success} ${JSON.stringify(rep.errors?.slice(0, 3))}\n`,
    );
  }
  return {
    p50us: rep.latencies["50th"] / 1000,
    p99us: rep.latencies["99th"] / 1000,
    maxUs: rep.latencies.max / 1000,
    throughput: rep.throughput,
    success: rep.success,
    cpuUsPerReview: ok === 0 ? NaN : (cpu * 1e6) / ok,
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

async function main(): Promise<void> {
  const vegeta = peerBinary("IRSA_VEGETA", "build-vegeta.sh", "vegeta", true);
  if (vegeta === undefined) throw new Error("vegeta not built");
  const upstreamBin =
    process.env.BENCH_UPSTREAM === "0"
      ? undefined
      : peerBinary(
          "IRSA_UPSTREAM_WEBHOOK",
          "build-upstream-webhook.sh",
          "amazon-eks-pod-identity-webhook",
          false,
        );
  const dir = await tempDir("bench-webhook");
  const review = JSON.parse(readFileSync(REVIEW, "utf8")) as {
    request: { namespace: string; object: { spec: { serviceAccountName: string } } };
  };
  writeFileSync(join(dir, "review.json"), JSON.stringify(review));
  const reviewBytes = Buffer.byteLength(JSON.stringify(review));
  const ca = await createCa(dir);
  const caFile = join(dir, "ca.pem");
  writeFileSync(caFile, ca.certPem);
  const cert = await issueServingCert(ca, "webhook");
  const kubeApi = await startFakeKubeApi(dir, {
    namespace: review.request.namespace,
    name: review.request.object.spec.serviceAccountName,
    annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/shop-web" },
  });
  const opts = {
    dir,
    cert,
    caPem: ca.certPem,
    kubeconfigFile: kubeApi.kubeconfigFile,
    webhookFlags: ["--aws-default-region=eu-west-1"],
    nodeArgs: (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((x) => x !== ""),
  };
  const servers: BenchServer[] = [await startBare(opts), await startOurs(opts)];
  if (upstreamBin !== undefined) servers.push(await startUpstream(opts, upstreamBin));
  // Both webhooks must answer with a patch (their caches have the account) before measuring.
  for (const s of servers.slice(1)) {
    for (let i = 0; ; i++) {
      const res = await httpCall(`https://127.0.0.1:${s.port}/mutate`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(review),
        ca: ca.certPem,
      });
      if (res.text.includes('"patch"')) break;
      if (i > 100) throw new Error(`${s.name} does not mutate the review: ${res.text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  const idle = new Map(servers.map((s) => [s.name, rss(s.proc.pid).now]));
  const loads = [...RATES, "max" as const];
  const load0 = loadavg();
  const started = new Date();
  process.stderr.write(
    `${servers.length} servers, ${ROUNDS} rounds of ${loads.length} loads × ${SECONDS} s; load average ${load0.map((x) => x.toFixed(2)).join(" ")}\n`,
  );
  for (const s of servers) attack(vegeta, dir, s, 200, caFile); // warm-up (JIT, connections)
  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < ROUNDS; round++) {
    const order = servers.map((_, i) => servers[(i + round) % servers.length] as BenchServer);
    for (const load of loads) {
      for (const s of order) {
        const sample = attack(vegeta, dir, s, load, caFile);
        const key = `${s.name}|${load}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        process.stderr.write(
          `  round ${round + 1} ${s.name} @ ${load}: p50 ${fmt(sample.p50us, 0)} µs, p99 ${fmt(sample.p99us, 0)} µs, ${fmt(sample.throughput, 0)}/s, ${fmt(sample.cpuUsPerReview, 0)} µs CPU/review\n`,
        );
      }
    }
  }
  const load1 = loadavg();
  const med = (name: string, load: number | "max", f: (s: Sample) => number): number =>
    median((samples.get(`${name}|${load}`) ?? []).map(f));
  const rows = servers.map((s) => [
    s.name,
    ...RATES.flatMap((r) => [
      fmt(med(s.name, r, (x) => x.p50us) / 1000, 2),
      fmt(med(s.name, r, (x) => x.p99us) / 1000, 2),
    ]),
    fmt(
      med(s.name, "max", (x) => x.throughput),
      0,
    ),
    fmt(
      med(s.name, "max", (x) => x.cpuUsPerReview),
      0,
    ),
    `${fmt(idle.get(s.name) ?? NaN, 0)} → ${fmt(rss(s.proc.pid).now, 0)} (peak ${fmt(rss(s.proc.pid).peak, 0)})`,
  ]);
  const cpu = cpus();
  console.log(
    `\n${started.toISOString().slice(0, 10)}, ${cpu.length} × ${cpu[0]?.model ?? "?"}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node.js ${process.versions.node}; ` +
      `load average ${load0[0]?.toFixed(2) ?? "?"} before, ${load1[0]?.toFixed(2) ?? "?"} after; ` +
      `${ROUNDS} rounds × ${SECONDS} s per load, medians; review ${fmt(reviewBytes / 1024, 1)} KiB; ${WORKERS} keep-alive connections\n`,
  );
  console.log(
    table(
      [
        "server",
        ...RATES.flatMap((r) => [`p50 ms @${r}/s`, `p99 ms @${r}/s`]),
        "saturation reviews/s",
        "CPU µs/review (sat.)",
        "RSS MiB idle → loaded (peak)",
      ],
      rows,
    ),
  );
  const bare = servers[0]?.name ?? "";
  const ours = servers[1]?.name ?? "";
  const top = Math.max(...RATES);
  const ratio = (a: number, b: number): string => fmt(a / b, 2);
  const ratioRows = [
    [
      "saturation, ours / bare",
      ratio(
        med(ours, "max", (x) => x.throughput),
        med(bare, "max", (x) => x.throughput),
      ),
    ],
    [
      `p99 @${top}/s, ours / bare`,
      ratio(
        med(ours, top, (x) => x.p99us),
        med(bare, top, (x) => x.p99us),
      ),
    ],
  ];
  const up = servers[2]?.name;
  if (up !== undefined) {
    ratioRows.push(
      [
        "saturation, ours / upstream",
        ratio(
          med(ours, "max", (x) => x.throughput),
          med(up, "max", (x) => x.throughput),
        ),
      ],
      [
        `p99 @${top}/s, ours / upstream`,
        ratio(
          med(ours, top, (x) => x.p99us),
          med(up, top, (x) => x.p99us),
        ),
      ],
    );
  }
  console.log(`\n${table(["ratio", "value"], ratioRows)}`);
  // Time to write a --cpu-prof profile, when asked for one.
  for (const s of servers) await s.proc.stop(30_000);
  kubeApi.server.closeAllConnections();
  kubeApi.server.close();
}

try {
  await main();
} finally {
  await stopAll();
}
