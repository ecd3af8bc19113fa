/**
 * The servers bench/webhook.ts compares, each its own process pinned to CPU 0 (the load generator
 * gets CPU 1): `irsa webhook`, a bare Node.js HTTPS server, and upstream's webhook when built. Both
 * webhooks watch ServiceAccounts through a minimal plain-HTTP Kubernetes API served by the
 * benchmark process (one account; the list answers it, the watch stays open and silent), so the
 * API server's own load stays out of the figures.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Cert } from "../src/adapters/pki/index.js";
import { httpCall } from "../src/stack/http.js";
import { irsaCliPath } from "../src/stack/peers.js";
import { freePort, startProcess, waitUntil, type ManagedProcess } from "../src/stack/processes.js";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
const BARE = fileURLToPath(new URL("./bare-webhook.js", import.meta.url));

export interface BenchServer {
  readonly name: string;
  readonly proc: ManagedProcess;
  readonly port: number;
}

/** A peer's binary: `env` when set, else what `test/peers/<script>` builds (building it if `build`). */
export function peerBinary(env: string, script: string, bin: string, build: boolean): string | undefined {
  const fromEnv = process.env[env];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const args = [join(REPO, "test/peers", script), ...(build ? [] : ["--where"])];
  const r = spawnSync("bash", args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error(`${script} failed (exit ${String(r.status)})`);
  const path = join(r.stdout.trim(), bin);
  return existsSync(path) ? path : undefined;
}

/** Processes pinned to one CPU when taskset exists (util-linux), so load and server do not share. */
function pinned(cpu: number, command: string, args: readonly string[]): [string, string[]] {
  const has = spawnSync("taskset", ["--version"]).status === 0;
  return has ? ["taskset", ["-c", String(cpu), command, ...args]] : [command, [...args]];
}
export { pinned };

/** The one ServiceAccount both webhooks find, and the API that serves it. */
export async function startFakeKubeApi(
  dir: string,
  account: { namespace: string; name: string; annotations: Record<string, string> },
): Promise<{ server: Server; kubeconfigFile: string }> {
  const sa = {
    kind: "ServiceAccount",
    apiVersion: "v1",
    metadata: { ...account, uid: "5d4f0a8e-0000-4000-8000-000000000001", resourceVersion: "1" },
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1") {
      res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
      // client-go's streaming list (sendInitialEvents): the account, then the bookmark ending it.
      if (url.searchParams.get("sendInitialEvents") === "true") {
        res.write(`${JSON.stringify({ type: "ADDED", object: sa })}\n`);
        const end = {
          kind: "ServiceAccount",
          apiVersion: "v1",
          metadata: { resourceVersion: "1", annotations: { "k8s.io/initial-events-end": "true" } },
        };
        res.write(`${JSON.stringify({ type: "BOOKMARK", object: end })}\n`);
      } else res.flushHeaders();
      // As kube-apiserver: a bookmark now and then (the webhook takes a silent watch for dead),
      // and the end of the watch at its timeoutSeconds.
      const bookmark = {
        type: "BOOKMARK",
        object: { kind: "ServiceAccount", apiVersion: "v1", metadata: { resourceVersion: "1" } },
      };
      const tick = setInterval(() => res.write(`${JSON.stringify(bookmark)}\n`), 5000);
      const timeout = Number(url.searchParams.get("timeoutSeconds") ?? 0);
      const end = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
      res.on("close", () => {
        clearInterval(tick);
        clearTimeout(end);
      });
      return;
    }
    if (/\/serviceaccounts$/.test(url.pathname)) {
      json(200, {
        kind: "ServiceAccountList",
        apiVersion: "v1",
        metadata: { resourceVersion: "1" },
        items: [sa],
      });
      return;
    }
    if (url.pathname === `/api/v1/namespaces/${account.namespace}/serviceaccounts/${account.name}`) {
      json(200, sa);
      return;
    }
    json(404, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const kubeconfigFile = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfigFile,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "bench", cluster: { server: `http://127.0.0.1:${port}`, "insecure-skip-tls-verify": true } },
      ],
      users: [{ name: "bench", user: {} }],
      contexts: [{ name: "bench", context: { cluster: "bench", user: "bench" } }],
      "current-context": "bench",
    }),
  );
  return { server, kubeconfigFile };
}

export interface StartOptions {
  readonly dir: string;
  readonly cert: Cert;
  readonly caPem: string;
  readonly kubeconfigFile: string;
  /** Flags both webhooks get (the mutation settings). */
  readonly webhookFlags: readonly string[];
  readonly nodeArgs?: readonly string[];
}

export async function startOurs(o: StartOptions): Promise<BenchServer> {
  const port = await freePort();
  const metricsPort = await freePort();
  const [cmd, args] = pinned(0, process.execPath, [
    ...(o.nodeArgs ?? []),
    irsaCliPath(),
    "webhook",
    `--port=${port}`,
    `--metrics-port=${metricsPort}`,
    "--bind-address=127.0.0.1",
    `--tls-cert=${o.cert.certFile}`,
    `--tls-key=${o.cert.keyFile}`,
    `--kubeconfig=${o.kubeconfigFile}`,
    ...o.webhookFlags,
  ]);
  const proc = startProcess({ name: "irsa-webhook", command: cmd, args, logDir: o.dir });
  await waitUntil(
    "irsa webhook ready",
    async () => (await httpCall(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200,
    { proc, timeoutMs: 30_000 },
  );
  return { name: "irsa webhook", proc, port };
}

export async function startBare(o: StartOptions): Promise<BenchServer> {
  const port = await freePort();
  const [cmd, args] = pinned(0, process.execPath, [BARE, o.cert.certFile, o.cert.keyFile, String(port)]);
  const proc = startProcess({ name: "bare", command: cmd, args, logDir: o.dir });
  await waitUntil(
    "bare server listening",
    async () =>
      (await httpCall(`https://127.0.0.1:${port}/`, { ca: o.caPem, method: "POST", body: "{}" })).status ===
      200,
    { proc, timeoutMs: 30_000 },
  );
  return { name: "bare Node HTTPS (parse + allow)", proc, port };
}

export async function startUpstream(o: StartOptions, bin: string): Promise<BenchServer> {
  const port = await freePort();
  const metricsPort = await freePort();
  const [cmd, args] = pinned(0, bin, [
    "--in-cluster=false",
    `--kubeconfig=${o.kubeconfigFile}`,
    `--tls-cert=${o.cert.certFile}`,
    `--tls-key=${o.cert.keyFile}`,
    `--port=${port}`,
    `--metrics-port=${metricsPort}`,
    ...o.webhookFlags,
  ]);
  const proc = startProcess({ name: "upstream-webhook", command: cmd, args, logDir: o.dir });
  await waitUntil(
    "upstream webhook serving /healthz",
    async () => (await httpCall(`https://127.0.0.1:${port}/healthz`, { ca: o.caPem })).status === 200,
    { proc, timeoutMs: 30_000 },
  );
  return { name: "upstream webhook", proc, port };
}

/** Resident set size now and at its peak, in MiB. */
export function rss(pid: number): { now: number; peak: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN);
  return { now: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** User + system CPU time of a process so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
