/**
 * The reflector's reconnects after an API-server outage and how the cache reports it, against the
 * in-memory FAKE source (test/support/fake-sa-source.ts) so outages and recoveries are scripted.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_BACKOFF_MAX_MS } from "../../src/webhook/reflector.js";
import { ServiceAccountCache, serviceAccountAnnotationKeys } from "../../src/webhook/sa-cache.js";
import { WebhookMetrics } from "../../src/webhook/metrics.js";
import { FakeServiceAccountSource, quiet } from "../support/fake-sa-source.js";

const ROLE = "eks.amazonaws.com/role-arn";

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function cacheOn(
  source: FakeServiceAccountSource,
  extra: Partial<ConstructorParameters<typeof ServiceAccountCache>[1]> = {},
) {
  return new ServiceAccountCache(source, {
    annotationKeys: serviceAccountAnnotationKeys("eks.amazonaws.com"),
    getTimeoutMs: 1000,
    log: quiet,
    ...extra,
  });
}

describe("reflector: reconnecting after an API-server outage", () => {
  it("caps the reconnect backoff at a few seconds by default", () => {
    assert.ok(DEFAULT_BACKOFF_MAX_MS <= 5000, `cap ${DEFAULT_BACKOFF_MAX_MS} ms`);
    assert.ok(DEFAULT_BACKOFF_MAX_MS >= 1000, "not a hot loop against a server that is down");
  });

  it("waits longer after each failed reconnect, up to the cap, with jitter", async () => {
    const source = new FakeServiceAccountSource();
    const cache = cacheOn(source, { backoffInitialMs: 20, backoffMaxMs: 400 });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    const gaps: number[] = [];
    for (let i = 0; i < 10; i++) {
      const calls = source.watchCalls.length;
      const t0 = Date.now();
      source.endWatches(new Error("connect ECONNREFUSED"));
      await until(() => source.watchCalls.length > calls && source.watchers.size === 1, "reconnect");
      gaps.push(Date.now() - t0);
    }
    await cache.stop();
    // Backoff 20, 40, 80, 160, 320, 400, 400, ... ms, each waited ×0.5 to ×1. A loaded machine
    // only lengthens gaps, so the lower bounds are exact and the upper ones get a wide slack; without
    // the cap the tenth wait would be at least 2,560 ms, beyond it.
    const late = gaps.slice(4);
    assert.ok(
      late.every((g) => g >= 160),
      `gaps ${gaps.join(", ")} ms did not grow`,
    );
    assert.ok(
      (gaps[0] ?? 0) < Math.min(...late),
      `gaps ${gaps.join(", ")} ms: the first is not the shortest`,
    );
    assert.ok(
      late.every((g) => g < 400 + 1500),
      `gaps ${gaps.join(", ")} ms went past the 400 ms cap`,
    );
  });

  it("resumes from the last resourceVersion when the server is back, so changes made meanwhile arrive", async () => {
    const source = new FakeServiceAccountSource();
    source.put("team-a", "app", { [ROLE]: "arn:aws:iam::111122223333:role/old" });
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 20 });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    source.endWatches(new Error("connect ECONNREFUSED"));
    await until(() => source.watchers.size === 1, "watching again");
    source.apply("team-a", "app", { [ROLE]: "arn:aws:iam::111122223333:role/new" });
    assert.equal(cache.peek("team-a", "app")?.[ROLE], "arn:aws:iam::111122223333:role/new");
    await cache.stop();
  });
});

describe("ServiceAccountCache.disconnectedForMs and its gauge", () => {
  it("counts from the first failure, keeps counting through retries, and is 0 once the server answers", async () => {
    let now = 1_000_000;
    const source = new FakeServiceAccountSource();
    const metrics = new WebhookMetrics(undefined, false);
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10, now: () => now });
    metrics.trackDisconnected(() => cache.disconnectedForMs());
    const gauge = async (): Promise<number> => {
      const text = await metrics.registry.metrics();
      return Number(/^irsa_webhook_service_account_cache_disconnected_seconds (\S+)$/m.exec(text)?.[1]);
    };
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    assert.equal(cache.disconnectedForMs(), 0);
    assert.equal(await gauge(), 0);

    source.endWatches(new Error("connect ECONNREFUSED"));
    await until(() => cache.disconnectedForMs() === 0 && source.watchers.size === 1, "a watch again");
    // The watch call returning is not an answer yet: only events, lists or a clean end are.
    now += 7000;
    source.endWatches(new Error("connect ECONNREFUSED"));
    await until(() => source.watchers.size === 1, "reconnected");
    assert.ok(cache.disconnectedForMs() >= 7000, `disconnected ${cache.disconnectedForMs()} ms`);
    assert.ok((await gauge()) >= 7, "the gauge reads the same");

    source.emit({ type: "BOOKMARK", resourceVersion: "500" });
    assert.equal(cache.disconnectedForMs(), 0, "a bookmark is the server answering");
    assert.equal(await gauge(), 0);
    await cache.stop();
  });

  it("a failing first list counts as disconnected, a successful one clears it", async () => {
    let now = 5_000;
    const source = new FakeServiceAccountSource();
    source.listFailures = 1_000_000;
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10, now: () => now });
    cache.start();
    await until(() => source.listCalls >= 2, "failed lists");
    now += 300;
    assert.equal(cache.disconnectedForMs(), 300);
    source.listFailures = 0;
    await until(() => cache.synced(), "synced");
    assert.equal(cache.disconnectedForMs(), 0);
    await cache.stop();
  });
});
