/**
 * Start time of the `irsa` CLI beside bare Node, measured in the same run: each round spawns
 * `node -e 0`, `irsa --help`, `irsa keys kid FILE` and `irsa jwks --key FILE` once, interleaved,
 * and the table shows the median wall time of each and how much it adds to bare Node.
 *
 * Run: node dist/bench/cli-start.js [rounds]   (default 21)
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { fmt, percentile, table } from "./lib.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = `${root}dist/src/cli/main.js`;
const pub = `${root}test/fixtures/kubernetes-vectors/k8s-rsa-2048.pub.pem`;
const rounds = Number(process.argv[2] ?? 21);

const runs: [string, string[]][] = [
  ["node -e 0 (baseline)", ["-e", "0"]],
  ["irsa --help", [cli, "--help"]],
  ["irsa keys kid FILE", [cli, "keys", "kid", pub]],
  ["irsa jwks --key FILE", [cli, "jwks", "--key", pub]],
];

const samples = new Map<string, number[]>(runs.map(([name]) => [name, []]));
for (let r = 0; r < rounds + 2; r++) {
  for (const [name, args] of runs) {
    const t0 = process.hrtime.bigint();
    const res = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (res.status !== 0) throw new Error(`${name} exited ${String(res.status)}: ${res.stderr.toString()}`);
    if (r >= 2) samples.get(name)?.push(ms); // two warm-up rounds fill the page cache
  }
}
const median = (xs: number[]): number => percentile(xs, 50);
const base = median(samples.get(runs[0]?.[0] ?? "") ?? []);
console.log(`CLI start time, ${rounds} interleaved rounds, Node ${process.version}\n`);
console.log(
  table(
    ["command", "median wall ms", "above bare node ms"],
    runs.map(([name]) => {
      const m = median(samples.get(name) ?? []);
      return [name, fmt(m, 1), name.startsWith("node") ? "" : fmt(m - base, 1)];
    }),
  ),
);
