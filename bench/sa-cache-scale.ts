/**
 * The ServiceAccount cache at scale: for each count (cumulative), annotated ServiceAccounts are
 * created in parallel through a real kube-apiserver, then measured:
 * - the cache in this process: time from start to synced, and heap per account (heap after a full
 *   GC with the cache synced, minus the heap before it started, over the count);
 * - `irsa webhook` as its own process: time from spawn to /readyz 200 and its RSS then;
 * beside baselines from the same run: a bare paged list of the full objects through
 * @kubernetes/client-node (limit 500, how the cache listed before it asked for metadata only), and
 * `irsa webhook` watching an empty namespace (spawn to ready, RSS).
 * Goals (issue 9): at most 1 KiB per account, 100k ready within 10 s.
 *
 * Run: IRSA_KUBE_APISERVER=... IRSA_ETCD=... node --expose-gc dist/bench/sa-cache-scale.js [counts]
 * (default 10000,30000; scripts/local-stack.sh shows how the peers' paths are found). The load
 * average is printed with the table: the creation rate and list times depend on it.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { Agent, request } from "node:https";
import { CoreV1Api } from "@kubernetes/client-node";
import { kubeServiceAccountSource } from "../src/adapters/kubernetes/service-accounts.js";
import { createNamespace } from "../src/adapters/kubernetes/objects.js";
import { silentLog } from "../src/runtime/log.js";
import { startIrsaWebhook, startKube, stopAll, type Kube } from "../src/stack/index.js";
import { ServiceAccountCache, serviceAccountAnnotationKeys } from "../src/webhook/sa-cache.js";
import { fmt, table } from "./lib.js";

const counts = (process.argv[2] ?? "10000,30000").split(",").map(Number);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
const collect = gc;

function heapMiB(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? NaN) / 1024;
}

/** Creates `n` annotated ServiceAccounts in `namespaces`, `parallel` requests at a time. */
async function createAccounts(kube: Kube, namespaces: string[], from: number, to: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const post = (ns: string, name: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({
        metadata: {
          name,
          annotations: {
            "eks.amazonaws.com/role-arn": `arn:aws:iam::111122223333:role/${name}`,
            "eks.amazonaws.com/audience": "sts.amazonaws.com",
          },
        },
      });
      const req = request(
        `${kube.url}/api/v1/namespaces/${ns}/serviceaccounts`,
        {
          method: "POST",
          agent,
          ca: kube.ca.certPem,
          cert: kube.admin.certPem,
          key: kube.admin.keyPem,
          headers: { "Content-Type": "application/json" },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 201) resolve();
            else reject(new Error(`create ${ns}/${name}: ${res.statusCode ?? 0}`));
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const t0 = performance.now();
  let next = from;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < to) {
        const i = next++;
        await post(namespaces[i % namespaces.length] ?? "default", `sa-${i}`);
      }
    }),
  );
  agent.destroy();
  return (to - from) / ((performance.now() - t0) / 1000);
}

async function bareList(kube: Kube): Promise<{ ms: number; items: number }> {
  const api = kube.kubeConfig.makeApiClient(CoreV1Api);
  const t0 = performance.now();
  let items = 0;
  let cont: string | undefined;
  do {
    const page = await api.listServiceAccountForAllNamespaces({ limit: 500, _continue: cont });
    items += page.items.length;
    cont = page.metadata?._continue || undefined;
  } while (cont !== undefined);
  return { ms: performance.now() - t0, items };
}

async function cacheInProcess(kube: Kube): Promise<{ ms: number; heapPerAccount: number; size: number }> {
  const before = heapMiB();
  const cache = new ServiceAccountCache(kubeServiceAccountSource(kube.kubeConfig), {
    annotationKeys: serviceAccountAnnotationKeys("eks.amazonaws.com"),
    getTimeoutMs: 1000,
    log: silentLog,
  });
  const t0 = performance.now();
  cache.start();
  while (!cache.synced()) await new Promise((r) => setTimeout(r, 2));
  const ms = performance.now() - t0;
  const after = heapMiB();
  const size = cache.size();
  await cache.stop();
  return { ms, heapPerAccount: ((after - before) * 2 ** 20) / size, size };
}

async function webhookProcess(
  kube: Kube,
  name: string,
  extra: string[],
): Promise<{ ms: number; rss: number }> {
  const t0 = performance.now();
  const w = await startIrsaWebhook(kube, { name, extraArgs: ["--log-level=warn", ...extra] });
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 500));
  const rss = rssMiB(w.proc.pid);
  await w.proc.stop();
  return { ms, rss };
}

try {
  const kube = await startKube();
  const namespaces: string[] = [];
  for (let i = 0; i < 20; i++) namespaces.push(await createNamespace(kube.kubeConfig, `bench-${i}`));
  const empty = await createNamespace(kube.kubeConfig, "bench-empty");
  const rows: string[][] = [];
  let created = 0;
  for (const n of counts) {
    const rate = await createAccounts(kube, namespaces, created, n);
    created = n;
    const list = await bareList(kube);
    const inProc = await cacheInProcess(kube);
    const base = await webhookProcess(kube, `bench-empty-${n}`, [`--watch-namespace=${empty}`]);
    const full = await webhookProcess(kube, `bench-full-${n}`, []);
    const perAccountRss = ((full.rss - base.rss) * 2 ** 20) / list.items;
    rows.push([
      fmt(list.items, 0),
      fmt(rate, 0),
      fmt(list.ms, 0),
      fmt(inProc.ms, 0),
      fmt(inProc.heapPerAccount, 0),
      `${fmt(base.ms, 0)} → ${fmt(full.ms, 0)}`,
      `${fmt(base.rss, 0)} → ${fmt(full.rss, 0)}`,
      fmt(perAccountRss, 0),
    ]);
    process.stdout.write(`${rows.at(-1)?.join("  ") ?? ""}\n`);
  }
  process.stdout.write(
    `\nload average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}\n`,
  );
  process.stdout.write(
    `\n${table(
      [
        "accounts",
        "created/s",
        "bare list ms",
        "cache synced ms",
        "heap B/account",
        "webhook ready ms (empty → all)",
        "webhook RSS MiB (empty → all)",
        "RSS B/account",
      ],
      rows,
    )}\n`,
  );
} finally {
  await stopAll();
}
