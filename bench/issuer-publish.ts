/**
 * Key change to verified publish with `irsa issuer sync --watch`: the controller runs with its real
 * clock, a key-file source and a directory target; each round replaces the key file with a new key
 * at a random moment of the interval and times until the published JWKS holds the new kid (after
 * the controller's own read-back verification). Beside it, the sync interval of the same run: the
 * goal is within one interval plus 1 s.
 *
 * Run: node dist/bench/issuer-publish.js [interval-ms] [rounds]   (default 1000 ms, 10 rounds)
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyId } from "../src/core/oidc/keys.js";
import { SyncController } from "../src/issuer/controller.js";
import { IssuerMetrics } from "../src/issuer/metrics.js";
import { keyFileSource } from "../src/issuer/source.js";
import { dirTarget } from "../src/issuer/target.js";
import { silentLog } from "../src/runtime/log.js";
import { fmt, percentile, table } from "./lib.js";

const intervalMs = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 10);
const dir = mkdtempSync(join(tmpdir(), "irsa-bench-issuer-"));
const keyFile = join(dir, "sa.pub");
const out = join(dir, "out");

function newKey(): string {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  writeFileSync(`${keyFile}.tmp`, publicKey.export({ type: "spki", format: "pem" }));
  return keyId(publicKey.export({ type: "spki", format: "der" }));
}

function publishedKids(): string[] {
  try {
    const jwks = JSON.parse(readFileSync(join(out, "openid/v1/jwks"), "utf8")) as { keys: { kid: string }[] };
    return jwks.keys.map((k) => k.kid);
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
newKey();
writeFileSync(keyFile, readFileSync(`${keyFile}.tmp`));
const controller = new SyncController({
  source: keyFileSource([keyFile], "https://oidc.example.com/bench"),
  targets: [dirTarget(out)],
  retainMs: 25 * 3600_000,
  publicIssuer: undefined,
  intervalMs,
  log: silentLog,
  metrics: new IssuerMetrics(undefined, false),
});
const abort = new AbortController();
const running = controller.run(abort.signal);
while (controller.readiness() !== undefined) await sleep(10);

const samples: number[] = [];
for (let r = 0; r < rounds; r++) {
  await sleep(Math.random() * intervalMs);
  const kid = newKey();
  const { renameSync } = await import("node:fs");
  const t0 = performance.now();
  renameSync(`${keyFile}.tmp`, keyFile);
  while (!publishedKids().includes(kid)) await sleep(2);
  samples.push(performance.now() - t0);
}
abort.abort();
await running;

console.log(
  table(
    ["measure", "ms"],
    [
      ["sync interval (baseline)", fmt(intervalMs, 0)],
      ["goal: interval + 1 s", fmt(intervalMs + 1000, 0)],
      ["key change → published, median", fmt(percentile(samples, 50))],
      ["key change → published, p90", fmt(percentile(samples, 90))],
      ["key change → published, max", fmt(Math.max(...samples))],
    ],
  ),
);
console.log(
  `${rounds} rounds; within goal: ${samples.filter((s) => s <= intervalMs + 1000).length}/${rounds}`,
);
