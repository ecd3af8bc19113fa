/**
 * The ServiceAccount cache's logic: list/watch bookkeeping, the grace-period wait, the deduplicated
 * direct GET, and that nothing is left pending. The source here is an in-memory FAKE of the API
 * server's list/watch/get (test/support/fake-sa-source.ts): it lets each test script the exact
 * interleaving (a GET that hangs, a watch that expires, an account that appears mid-wait)
 * deterministically and in milliseconds. The real source (@kubernetes/client-node against a real
 * kube-apiserver) is exercised in e2e.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { afterEach, describe, it } from "node:test";
import {
  ServiceAccountCache,
  serviceAccountAnnotationKeys,
  type ServiceAccountRecord,
} from "../../src/webhook/sa-cache.js";
import { FakeServiceAccountSource as FakeSource, quiet, recordingLog } from "../support/fake-sa-source.js";

const ROLE = "eks.amazonaws.com/role-arn";
const AUD = "eks.amazonaws.com/audience";

function hangingUntilAbort(signal: AbortSignal): Promise<undefined> {
  return new Promise((_, reject) => {
    signal.addEventListener(
      "abort",
      () => {
        reject(new Error("aborted"));
      },
      { once: true },
    );
  });
}

// Every cache a test made is stopped after it, passed or failed: a failed assertion must not leave
// a reflector retrying forever, which keeps the file from ever exiting.
const made: ServiceAccountCache[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((c) => c.stop()));
});

/** The reconnect waits the reflector chose, as it logs them. */
function loggedWaits(log: ReturnType<typeof recordingLog>): unknown[] {
  return log.lines
    .filter((l) => l.msg.startsWith("service account watch failed"))
    .map((l) => l.obj["retryInMs"]);
}

function makeCache(
  source: FakeSource,
  extra: Partial<ConstructorParameters<typeof ServiceAccountCache>[1]> = {},
) {
  const gets: string[] = [];
  const cache = new ServiceAccountCache(source, {
    annotationKeys: serviceAccountAnnotationKeys("eks.amazonaws.com"),
    getTimeoutMs: 1000,
    backoffInitialMs: 5,
    backoffMaxMs: 20,
    log: quiet,
    onGet: (o) => gets.push(o),
    ...extra,
  });
  made.push(cache);
  return { cache, gets };
}

async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function started(source: FakeSource, extra: Parameters<typeof makeCache>[1] = {}) {
  const made = makeCache(source, extra);
  made.cache.start();
  await until(() => made.cache.synced() && source.watchers.size === 1, "synced and watching");
  return made;
}

describe("ServiceAccountCache: list, watch and what it keeps", () => {
  it("is not synced before the first list completes, then is", async () => {
    const source = new FakeSource();
    source.put("a", "x", { [ROLE]: "arn:aws:iam::111122223333:role/x" });
    const { cache } = makeCache(source);
    assert.equal(cache.synced(), false);
    cache.start();
    await until(() => cache.synced(), "synced");
    assert.equal(cache.size(), 1);
    assert.deepEqual(source.watchCalls, ["101"], "watches from the list's resourceVersion");
    await cache.stop();
  });

  it("keeps only the configured annotations, and records accounts without any", async () => {
    const source = new FakeSource();
    source.put("a", "annotated", {
      [ROLE]: "arn:aws:iam::111122223333:role/x",
      [AUD]: "sts.amazonaws.com",
      "kubectl.kubernetes.io/last-applied-configuration": "{...big...}",
      "other.example.com/role-arn": "nope",
    });
    source.put("a", "plain", { "team.example.com/owner": "me" });
    source.put("a", "bare");
    const { cache } = await started(source);
    assert.deepEqual(cache.peek("a", "annotated"), {
      [ROLE]: "arn:aws:iam::111122223333:role/x",
      [AUD]: "sts.amazonaws.com",
    });
    assert.deepEqual(cache.peek("a", "plain"), {});
    assert.deepEqual(cache.peek("a", "bare"), {});
    assert.equal(cache.peek("a", "missing"), undefined);
    await cache.stop();
  });

  it("follows ADDED, MODIFIED and DELETED", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    source.apply("a", "x", { [ROLE]: "arn:aws:iam::111122223333:role/one" });
    assert.deepEqual(cache.peek("a", "x"), { [ROLE]: "arn:aws:iam::111122223333:role/one" });
    source.apply("a", "x", { [ROLE]: "arn:aws:iam::111122223333:role/two" });
    assert.deepEqual(cache.peek("a", "x"), { [ROLE]: "arn:aws:iam::111122223333:role/two" });
    source.remove("a", "x");
    assert.equal(cache.peek("a", "x"), undefined);
    await cache.stop();
  });

  it("relists when the watch says the resourceVersion is gone (410), dropping what vanished", async () => {
    const source = new FakeSource();
    source.put("a", "stays");
    source.put("a", "goes");
    const { cache } = await started(source);
    source.items.delete("a/goes"); // deleted while the watch was not looking
    source.put("a", "new");
    source.emit({ type: "ERROR", code: 410, message: "too old resource version" });
    await until(() => source.listCalls === 2 && source.watchers.size === 1, "relisted and watching again");
    assert.equal(cache.peek("a", "goes"), undefined);
    assert.deepEqual(cache.peek("a", "new"), {});
    assert.ok(cache.synced());
    await cache.stop();
  });

  it("also relists when the watch call itself fails with 410", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    source.endWatches(Object.assign(new Error("Gone"), { statusCode: 410 }));
    await until(() => source.listCalls === 2 && source.watchers.size === 1, "relisted");
    await cache.stop();
  });

  it("resumes from the last seen resourceVersion after a transport error, without relisting", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    source.apply("a", "x"); // rv 101
    source.emit({ type: "BOOKMARK", resourceVersion: "150" });
    source.endWatches(new Error("socket hang up"));
    await until(() => source.watchCalls.length === 2, "watching again");
    assert.equal(source.listCalls, 1);
    assert.equal(source.watchCalls[1], "150");
    assert.ok(cache.synced(), "stays ready through a reconnect");
    await cache.stop();
  });

  it("resumes from the resourceVersion of the last event when no bookmark followed it", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    source.apply("a", "x"); // rv 101
    source.apply("a", "y"); // rv 102
    source.endWatches(new Error("socket hang up"));
    await until(() => source.watchCalls.length === 2, "watching again");
    assert.deepEqual(source.watchCalls, ["100", "102"]);
    assert.equal(source.listCalls, 1);
    await cache.stop();
  });

  it("in an outage, waits longer before each new watch: the backoff doubles", async () => {
    const source = new FakeSource();
    const { cache } = await started(source, { backoffInitialMs: 20, backoffMaxMs: 10_000 });
    const at: number[] = [];
    for (let i = 0; i < 5; i++) {
      await until(() => source.watchers.size === 1, "watching", 5000);
      at.push(Date.now());
      source.endWatches(new Error("connect ECONNREFUSED"));
    }
    await until(() => source.watchers.size === 1, "watching", 5000);
    at.push(Date.now());
    // The fifth wait is 20 * 2^4 = 320 ms less up to half of it as jitter; without growth it is <= 20 ms.
    const last = (at[5] ?? 0) - (at[4] ?? 0);
    assert.ok(last >= 150, `the fifth reconnect came after ${last} ms; the backoff did not grow`);
    await cache.stop();
  });

  it("never waits longer than the backoff cap between reconnects", async () => {
    const source = new FakeSource();
    const log = recordingLog();
    const { cache } = await started(source, { backoffInitialMs: 20, backoffMaxMs: 40, log });
    for (let i = 0; i < 8; i++) {
      await until(() => source.watchers.size === 1, "watching", 5000);
      source.endWatches(new Error("connect ECONNREFUSED"));
    }
    await until(() => source.watchers.size === 1, "watching", 5000);
    await cache.stop();
    // Uncapped, the eighth wait would be 20 * 2^7 = 2560 ms less jitter (at least 1280 ms). Read
    // from the log, not the clock: a loaded machine lengthens every gap.
    const waits = loggedWaits(log);
    assert.equal(waits.length, 8, `logged waits ${waits.join(", ")}`);
    for (const w of waits) {
      assert.ok(
        typeof w === "number" && w <= 40,
        `a wait of ${String(w)} ms with a 40 ms cap (all: ${waits.join(", ")})`,
      );
    }
  });

  it("after a watch that ran fine fails, reconnects at the initial backoff, not the one grown in an outage", async () => {
    const source = new FakeSource();
    const log = recordingLog();
    const { cache } = await started(source, { backoffInitialMs: 5, backoffMaxMs: 400, log });
    // An outage: every watch fails at once, the backoff grows to its cap.
    for (let i = 0; i < 10; i++) {
      await until(() => source.watchers.size === 1, "watching", 5000);
      source.endWatches(new Error("connect ECONNREFUSED"));
    }
    // Back: a watch that works for a while (over a second), then a dropped connection.
    await until(() => source.watchers.size === 1, "watching", 5000);
    await new Promise((r) => setTimeout(r, 1100));
    const calls = source.watchCalls.length;
    source.endWatches(new Error("socket hang up"));
    await until(() => source.watchCalls.length > calls, "watching again", 5000);
    await cache.stop();
    const waits = loggedWaits(log);
    assert.equal(waits.length, 11, `logged waits ${waits.join(", ")}`);
    const outage = waits[9];
    assert.ok(
      typeof outage === "number" && outage >= 200,
      `the outage's last wait was ${String(outage)} ms, not grown to 200-400`,
    );
    const after = waits[10];
    assert.ok(
      typeof after === "number" && after <= 5,
      `reconnected after a ${String(after)} ms wait; the outage's backoff (200 to 400 ms) was kept`,
    );
    assert.equal(source.listCalls, 1);
  });

  it("re-watches when the server ends a watch normally", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    source.endWatches();
    await until(() => source.watchCalls.length === 2 && source.watchers.size === 1, "watching again");
    assert.equal(source.listCalls, 1);
    await cache.stop();
  });

  it("retries a failing first list with backoff and becomes synced", async () => {
    const source = new FakeSource();
    source.listFailures = 3;
    const synced: boolean[] = [];
    const { cache } = makeCache(source, { onSynced: (s) => synced.push(s) });
    cache.start();
    await until(() => cache.synced(), "synced after retries");
    assert.equal(source.listCalls, 4);
    assert.deepEqual(synced, [true]);
    await cache.stop();
  });

  it("stop() ends the watch and the loop", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    await cache.stop();
    assert.equal(source.watchers.size, 0);
  });
});

describe("ServiceAccountCache.lookup: grace period and direct GET", () => {
  it("answers a cached account at once, without a GET", async () => {
    const source = new FakeSource();
    source.put("a", "x", { [ROLE]: "arn:aws:iam::111122223333:role/x" });
    const { cache } = await started(source);
    const r = await cache.lookup("a", "x", 1000);
    assert.equal(r.via, "cache");
    assert.deepEqual(r.annotations, { [ROLE]: "arn:aws:iam::111122223333:role/x" });
    assert.deepEqual(source.getCalls, []);
    await cache.stop();
  });

  it("with grace 0 does not wait and does not GET", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    source.put("a", "late");
    const r = await cache.lookup("a", "late", 0);
    assert.deepEqual(r, { annotations: undefined, via: "no-wait" });
    assert.deepEqual(source.getCalls, []);
    await cache.stop();
  });

  it("finds an account the watch has not delivered yet with one GET, then caches it", async () => {
    const source = new FakeSource();
    const { cache, gets } = await started(source);
    source.put("a", "fresh", { [ROLE]: "arn:aws:iam::111122223333:role/fresh" }); // created, watch lagging
    const r = await cache.lookup("a", "fresh", 1000);
    assert.equal(r.via, "get");
    assert.deepEqual(r.annotations, { [ROLE]: "arn:aws:iam::111122223333:role/fresh" });
    assert.equal((await cache.lookup("a", "fresh", 1000)).via, "cache");
    assert.deepEqual(source.getCalls, ["a/fresh"]);
    assert.deepEqual(gets, ["found"]);
    await until(() => cache.pendingCount() === 0, "no pending entry");
    await cache.stop();
  });

  it("deduplicates: many concurrent lookups of one account make one GET", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    let release: (v: ServiceAccountRecord | undefined) => void = () => undefined;
    source.getImpl = () => new Promise((r) => (release = r));
    const lookups = Array.from({ length: 25 }, () => cache.lookup("a", "burst", 1000));
    await until(() => source.getCalls.length === 1, "one GET");
    release({ namespace: "a", name: "burst", annotations: { [ROLE]: "arn:aws:iam::111122223333:role/b" } });
    const results = await Promise.all(lookups);
    assert.equal(source.getCalls.length, 1);
    for (const r of results) assert.equal(r.annotations?.[ROLE], "arn:aws:iam::111122223333:role/b");
    await until(() => cache.pendingCount() === 0, "no pending entry");
    await cache.stop();
  });

  it("keeps waiting after a GET 404 and takes the account from the watch (created in the same burst)", async () => {
    const source = new FakeSource();
    const { cache, gets } = await started(source);
    const pending = cache.lookup("a", "racing", 1000);
    await until(() => gets.length === 1, "the GET answered");
    assert.deepEqual(gets, ["not_found"]);
    source.apply("a", "racing", { [ROLE]: "arn:aws:iam::111122223333:role/r" });
    const r = await pending;
    assert.equal(r.via, "watch");
    assert.equal(r.annotations?.[ROLE], "arn:aws:iam::111122223333:role/r");
    await until(() => cache.pendingCount() === 0, "no pending entry");
    await cache.stop();
  });

  it("gives up after the grace period when the account never appears; nothing stays pending", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    const t0 = Date.now();
    const r = await cache.lookup("a", "never", 60);
    assert.deepEqual(r, { annotations: undefined, via: "miss" });
    assert.ok(Date.now() - t0 >= 55, "waited the grace period");
    await until(() => cache.pendingCount() === 0, "no pending entry");
    await cache.stop();
  });

  it("a GET that hangs is cut by its timeout and leaves nothing behind", async () => {
    const source = new FakeSource();
    const { cache, gets } = await started(source, { getTimeoutMs: 30 });
    source.getImpl = (_ns, _n, signal) => hangingUntilAbort(signal);
    const r = await cache.lookup("a", "slow", 80);
    assert.equal(r.via, "miss");
    assert.deepEqual(gets, ["error"]);
    await until(() => cache.pendingCount() === 0, "no pending entry");
    await cache.stop();
  });

  it("a failed GET is not remembered: the next lookup tries again", async () => {
    const source = new FakeSource();
    const { cache, gets } = await started(source);
    source.getImpl = () => Promise.reject(new Error("forbidden"));
    assert.equal((await cache.lookup("a", "x", 30)).via, "miss");
    await until(() => cache.pendingCount() === 0, "no pending entry");
    source.getImpl = undefined;
    source.put("a", "x", { [ROLE]: "arn:aws:iam::111122223333:role/x" });
    assert.equal((await cache.lookup("a", "x", 1000)).via, "get");
    assert.deepEqual(gets, ["error", "found"]);
    await until(() => cache.pendingCount() === 0, "no pending entry");
    await cache.stop();
  });

  it("2,000 lookups naming distinct missing accounts make at most the burst plus the rate's GETs", async () => {
    const source = new FakeSource();
    const skipped: string[] = [];
    const { cache, gets } = await started(source, {
      getRate: 20,
      getBurst: 50,
      onGetSkipped: (why) => skipped.push(why),
    });
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => cache.lookup("a", `missing-${i}`, 200)),
    );
    const elapsedS = (performance.now() - t0) / 1000;
    for (const r of results) assert.equal(r.via, "miss");
    assert.ok(
      gets.length <= 50 + Math.ceil(20 * elapsedS) + 1,
      `${gets.length} GETs in ${elapsedS.toFixed(2)} s (burst 50, 20/s)`,
    );
    assert.ok(gets.length >= 50, "the burst is used");
    assert.ok(skipped.filter((w) => w === "rate_limited").length >= 2000 - gets.length);
    await until(() => cache.pendingCount() === 0, "no pending entry");
    // Lookups over the rate that nobody waits for any more make no GET later either.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(gets.length <= 50 + Math.ceil(20 * (elapsedS + 0.3)) + 1, `${gets.length} GETs after`);
    await cache.stop();
  });

  it("does not ask again for an account the API server just said is missing; the watch still delivers it", async () => {
    const source = new FakeSource();
    const skipped: string[] = [];
    const { cache, gets } = await started(source, { onGetSkipped: (why) => skipped.push(why) });
    for (let i = 0; i < 20; i++) assert.equal((await cache.lookup("a", "ghost", 20)).via, "miss");
    assert.deepEqual(gets, ["not_found"], "one GET for 20 lookups");
    assert.equal(skipped.filter((w) => w === "known_missing").length, 19);
    const pending = cache.lookup("a", "ghost", 1000);
    source.apply("a", "ghost", { [ROLE]: "arn:aws:iam::111122223333:role/g" });
    assert.equal((await pending).via, "watch");
    assert.equal(gets.length, 1);
    await until(() => cache.pendingCount() === 0, "no pending entry");
    await cache.stop();
  });

  it("asks again once the remembered 404 is older than its TTL", async () => {
    const source = new FakeSource();
    const { cache, gets } = await started(source, { negativeTtlMs: 30 });
    assert.equal((await cache.lookup("a", "late", 10)).via, "miss");
    await new Promise((r) => setTimeout(r, 40));
    source.put("a", "late", { [ROLE]: "arn:aws:iam::111122223333:role/l" });
    assert.equal((await cache.lookup("a", "late", 1000)).via, "get");
    assert.deepEqual(gets, ["not_found", "found"]);
    await until(() => cache.pendingCount() === 0, "no pending entry");
    await cache.stop();
  });

  it("does not let a stale GET answer resurrect an account the watch deleted meanwhile", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    let release: (v: ServiceAccountRecord | undefined) => void = () => undefined;
    source.getImpl = () => new Promise((r) => (release = r));
    const pending = cache.lookup("a", "flip", 50);
    await until(() => source.getCalls.length === 1, "GET sent");
    source.apply("a", "flip");
    source.remove("a", "flip");
    release({ namespace: "a", name: "flip", annotations: { [ROLE]: "arn:aws:iam::111122223333:role/old" } });
    const r = await pending;
    assert.equal(r.via, "watch", "the ADDED event answered the waiter");
    await until(() => cache.pendingCount() === 0, "settled");
    assert.equal(cache.peek("a", "flip"), undefined, "the GET answer did not re-add it");
    await cache.stop();
  });

  it("does not let a GET answered after a lone MODIFIED overwrite the watch's newer value", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    let release: (v: ServiceAccountRecord | undefined) => void = () => undefined;
    source.getImpl = () => new Promise((r) => (release = r));
    const pending = cache.lookup("a", "rotated", 1000);
    await until(() => source.getCalls.length === 1, "GET sent");
    const newer = {
      namespace: "a",
      name: "rotated",
      annotations: { [ROLE]: "arn:aws:iam::111122223333:role/new" },
    };
    source.emit({ type: "MODIFIED", object: { ...newer, resourceVersion: "120" } });
    const r = await pending;
    assert.equal(r.via, "watch");
    release({
      ...newer,
      annotations: { [ROLE]: "arn:aws:iam::111122223333:role/old" },
      resourceVersion: "110",
    });
    await until(() => cache.pendingCount() === 0, "settled");
    assert.deepEqual(cache.peek("a", "rotated"), { [ROLE]: "arn:aws:iam::111122223333:role/new" });
    await cache.stop();
  });

  it("does not let a GET answered after a lone DELETED resurrect the account", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    let release: (v: ServiceAccountRecord | undefined) => void = () => undefined;
    source.getImpl = () => new Promise((r) => (release = r));
    const pending = cache.lookup("a", "gone", 50);
    await until(() => source.getCalls.length === 1, "GET sent");
    source.emit({ type: "DELETED", object: { namespace: "a", name: "gone", resourceVersion: "130" } });
    release({ namespace: "a", name: "gone", annotations: { [ROLE]: "arn:aws:iam::111122223333:role/old" } });
    const r = await pending;
    assert.deepEqual(r, { annotations: undefined, via: "miss" });
    await until(() => cache.pendingCount() === 0, "settled");
    assert.equal(cache.peek("a", "gone"), undefined, "the GET answer did not re-add it");
    await cache.stop();
  });

  it("does not let a GET answered after a relist that no longer has the account resurrect it", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    let release: (v: ServiceAccountRecord | undefined) => void = () => undefined;
    source.getImpl = () => new Promise((r) => (release = r));
    const pending = cache.lookup("a", "dropped", 50);
    await until(() => source.getCalls.length === 1, "GET sent");
    source.emit({ type: "ERROR", code: 410, message: "gone" });
    await until(() => source.listCalls === 2, "relisted");
    release({
      namespace: "a",
      name: "dropped",
      annotations: { [ROLE]: "arn:aws:iam::111122223333:role/old" },
    });
    assert.deepEqual(await pending, { annotations: undefined, via: "miss" });
    await until(() => cache.pendingCount() === 0, "settled");
    assert.equal(cache.peek("a", "dropped"), undefined, "the relist is newer than the GET answer");
    await cache.stop();
  });

  it("answers waiters from a relist too", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    source.getImpl = () => Promise.resolve(undefined);
    const pending = cache.lookup("a", "relisted", 1000);
    source.put("a", "relisted", { [ROLE]: "arn:aws:iam::111122223333:role/r" });
    source.emit({ type: "ERROR", code: 410, message: "gone" });
    const r = await pending;
    assert.equal(r.via, "watch");
    assert.equal(r.annotations?.[ROLE], "arn:aws:iam::111122223333:role/r");
    await cache.stop();
  });

  it("with a namespace restriction, does not wait for accounts elsewhere", async () => {
    const source = new FakeSource();
    const { cache } = await started(source, { namespace: "team-a" });
    assert.deepEqual(await cache.lookup("team-b", "x", 1000), {
      annotations: undefined,
      via: "out-of-scope",
    });
    assert.deepEqual(source.getCalls, []);
    await cache.stop();
  });

  it("stop() releases every waiter at once", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    source.getImpl = (_ns, _n, signal) => hangingUntilAbort(signal);
    const pending = cache.lookup("a", "x", 10_000);
    await until(() => source.getCalls.length === 1, "GET sent");
    await cache.stop();
    assert.equal((await pending).via, "miss");
    await until(() => cache.pendingCount() === 0, "no pending entry");
  });
});

describe("ServiceAccountCache: what it hands out and remembers", () => {
  it("treats annotations that are null like none, from a list and from the watch", async () => {
    const source = new FakeSource();
    source.items.set("a/listed", {
      namespace: "a",
      name: "listed",
      annotations: null,
      resourceVersion: "90",
    });
    const { cache } = await started(source);
    source.emit({ type: "ADDED", object: { namespace: "a", name: "watched", annotations: null } });
    assert.deepEqual(cache.peek("a", "listed"), {});
    assert.deepEqual(cache.peek("a", "watched"), {});
    await cache.stop();
  });

  it("drops a kept annotation whose value is not a string", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    // A source bug, not something kube-apiserver sends: the cache keeps strings only.
    const annotations = { [ROLE]: 42, [AUD]: "sts.amazonaws.com" } as unknown as Record<string, string>;
    source.emit({ type: "ADDED", object: { namespace: "a", name: "x", annotations } });
    assert.deepEqual(cache.peek("a", "x"), { [AUD]: "sts.amazonaws.com" });
    await cache.stop();
  });

  it("hands out annotations no caller can change behind the cache's back", async () => {
    const source = new FakeSource();
    source.put("a", "x", { [ROLE]: "arn:aws:iam::111122223333:role/x" });
    source.put("a", "bare");
    const { cache } = await started(source);
    assert.ok(Object.isFrozen(cache.peek("a", "x")));
    assert.ok(Object.isFrozen(cache.peek("a", "bare")));
    assert.ok(Object.isFrozen((await cache.lookup("a", "x", 0)).annotations));
    await cache.stop();
  });

  it("lists every cached account by namespace/name with what it keeps", async () => {
    const source = new FakeSource();
    source.put("a", "x", { [ROLE]: "arn:aws:iam::111122223333:role/x", other: "dropped" });
    source.put("b", "y");
    const { cache } = await started(source);
    assert.deepEqual(Object.fromEntries(cache.entries()), {
      "a/x": { [ROLE]: "arn:aws:iam::111122223333:role/x" },
      "b/y": {},
    });
    assert.equal(cache.size(), 2);
    await cache.stop();
  });

  it("reports synced once, not again on each relist", async () => {
    const source = new FakeSource();
    const synced: boolean[] = [];
    const { cache } = await started(source, { onSynced: (s) => synced.push(s) });
    for (let i = 0; i < 2; i++) {
      source.emit({ type: "ERROR", code: 410, message: "too old resource version" });
      await until(() => source.listCalls === i + 2 && source.watchers.size === 1, "relisted");
    }
    await cache.stop();
    assert.deepEqual(synced, [true]);
  });

  it("after stop(), answers a lookup of an unknown account at once, without a GET", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    await cache.stop();
    source.put("a", "late");
    assert.deepEqual(await cache.lookup("a", "late", 10_000), { annotations: undefined, via: "no-wait" });
    assert.deepEqual(source.getCalls, []);
  });

  it("starts one list/watch loop however often start() is called", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    cache.start();
    cache.start();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(source.listCalls, 1);
    assert.equal(source.watchers.size, 1);
    await cache.stop();
  });

  for (const [how, seen] of [
    [
      "the watch",
      (source: FakeSource) => {
        source.apply("a", "back");
      },
    ],
    [
      "a relist",
      (source: FakeSource) => {
        source.put("a", "back");
        source.emit({ type: "ERROR", code: 410, message: "too old resource version" });
      },
    ],
  ] as const) {
    it(`forgets a remembered 404 once ${how} delivers the account`, async () => {
      const source = new FakeSource();
      const skipped: string[] = [];
      const { cache, gets } = await started(source, { onGetSkipped: (why) => skipped.push(why) });
      assert.equal((await cache.lookup("a", "back", 20)).via, "miss");
      assert.deepEqual(gets, ["not_found"]);
      seen(source);
      await until(() => cache.peek("a", "back") !== undefined, "delivered");
      // Deleted again before the 404 would have expired: a new lookup asks the API server.
      source.remove("a", "back");
      assert.equal((await cache.lookup("a", "back", 20)).via, "miss");
      assert.deepEqual(gets, ["not_found", "not_found"]);
      assert.deepEqual(skipped, []);
      await cache.stop();
    });
  }
});

describe("ServiceAccountCache.lookup: how long a direct GET may take", () => {
  const slowGet =
    (ms: number) =>
    (ns: string, name: string, signal: AbortSignal): Promise<ServiceAccountRecord | undefined> =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          resolve({ namespace: ns, name, annotations: { [ROLE]: `arn:aws:iam::111122223333:role/${name}` } });
        }, ms);
        signal.addEventListener(
          "abort",
          () => {
            clearTimeout(t);
            reject(new Error("aborted"));
          },
          { once: true },
        );
      });

  it("lets a GET that answers within the grace period and its timeout answer the lookup", async () => {
    const source = new FakeSource();
    const { cache } = await started(source, { getTimeoutMs: 5000 });
    source.getImpl = slowGet(30);
    const r = await cache.lookup("a", "slow", 5000);
    assert.equal(r.via, "get");
    assert.equal(r.annotations?.[ROLE], "arn:aws:iam::111122223333:role/slow");
    await cache.stop();
  });

  it("cuts a GET at its timeout when that comes before the grace period ends", async () => {
    const source = new FakeSource();
    const { cache, gets } = await started(source, { getTimeoutMs: 30 });
    source.getImpl = (_ns, _n, signal) => hangingUntilAbort(signal);
    const pending = cache.lookup("a", "hangs", 3000);
    await until(() => gets.length === 1, "the GET cut at its 30 ms timeout", 1500);
    assert.deepEqual(gets, ["error"]);
    source.apply("a", "hangs", { [ROLE]: "arn:aws:iam::111122223333:role/h" });
    assert.equal((await pending).via, "watch", "still waiting for the watch after the GET failed");
    await cache.stop();
  });

  it("cuts a GET at the grace period when that ends before its timeout: it never outlives its waiters", async () => {
    const source = new FakeSource();
    const { cache, gets } = await started(source, { getTimeoutMs: 5000 });
    source.getImpl = (_ns, _n, signal) => hangingUntilAbort(signal);
    assert.equal((await cache.lookup("a", "hangs", 30)).via, "miss");
    await until(() => gets.length === 1 && cache.pendingCount() === 0, "the GET cut and forgotten", 1500);
    assert.deepEqual(gets, ["error"]);
    await cache.stop();
  });

  it("makes a GET queued over the rate for the longest waiter, not the first one", async () => {
    const source = new FakeSource();
    const { cache, gets } = await started(source, { getRate: 2, getBurst: 1 });
    assert.equal((await cache.lookup("a", "takes-the-token", 10)).via, "miss");
    source.put("a", "queued", { [ROLE]: "arn:aws:iam::111122223333:role/q" });
    // The first waiter gives up long before a token comes (500 ms); the second still waits then.
    const short = cache.lookup("a", "queued", 10);
    const long = cache.lookup("a", "queued", 3000);
    assert.equal((await short).via, "miss");
    assert.equal((await long).via, "get");
    assert.deepEqual(gets, ["not_found", "found"]);
    await cache.stop();
  });

  it("GETs for a new lookup of an account whose queued GET was given up", async () => {
    const source = new FakeSource();
    const { cache, gets } = await started(source, { getRate: 2, getBurst: 1 });
    assert.equal((await cache.lookup("a", "takes-the-token", 10)).via, "miss");
    assert.equal((await cache.lookup("a", "again", 10)).via, "miss", "queued, then nobody waits");
    source.put("a", "again", { [ROLE]: "arn:aws:iam::111122223333:role/a" });
    assert.equal((await cache.lookup("a", "again", 3000)).via, "get");
    assert.deepEqual(gets, ["not_found", "found"]);
    await cache.stop();
  });

  it("with a namespace restriction, still looks up accounts in that namespace", async () => {
    const source = new FakeSource();
    const { cache } = await started(source, { namespace: "team-a" });
    source.put("team-a", "fresh", { [ROLE]: "arn:aws:iam::111122223333:role/f" });
    assert.equal((await cache.lookup("team-a", "fresh", 1000)).via, "get");
    await cache.stop();
  });

  it("stop() answers a waiter at once, not when its grace period would end", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    source.getImpl = (_ns, _n, signal) => hangingUntilAbort(signal);
    const pending = cache.lookup("a", "x", 60_000);
    await until(() => source.getCalls.length === 1, "GET sent");
    await cache.stop();
    const first = await Promise.race([
      pending,
      new Promise((r) => setTimeout(r, 5000, "still waiting 5 s after stop()")),
    ]);
    assert.deepEqual(first, { annotations: undefined, via: "miss" });
  });
});

describe("ServiceAccountCache: no per-call growth on its long-lived stop signal", () => {
  /**
   * The cache's stop signal lives as long as the process; every direct GET derives a signal from it.
   * AbortSignal.any() on Node 20 keeps each derived signal in the source's internal dependants set
   * for good (nodejs/node#55351), which getEventListeners() does not show, so that set is checked
   * too where this Node version has it.
   */
  function linkage(signal: AbortSignal): { listeners: number; dependants: number } {
    const sym = Object.getOwnPropertySymbols(signal).find((s) => s.description === "kDependantSignals");
    // Node's internal SafeSet: a Set, though not `instanceof Set`.
    const set =
      sym === undefined
        ? undefined
        : (signal as unknown as Record<symbol, { size?: unknown } | undefined>)[sym];
    return {
      listeners: getEventListeners(signal, "abort").length,
      dependants: typeof set?.size === "number" ? set.size : 0,
    };
  }

  it("2000 direct GETs leave no listeners or dependants behind on the stop signal", async () => {
    const source = new FakeSource();
    // Unlimited GET rate: this test is about what each GET leaves behind, not how many are made.
    const { cache, gets } = await started(source, { getRate: 1e9, getBurst: 1e9 });
    // The private stop signal, reached on purpose: it is what a leak would grow.
    const stop = (cache as unknown as { stopController: AbortController }).stopController.signal;
    const before = linkage(stop);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(`${w.name}: ${w.message}`);
    };
    process.on("warning", onWarning);
    const n = 2000;
    for (let i = 0; i < n; i++) source.put("a", `sa-${i}`); // not announced: each lookup GETs
    for (let i = 0; i < n; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => cache.lookup("a", `sa-${i + j}`, 1000));
      for (const r of await Promise.all(batch)) assert.equal(r.via, "get");
    }
    assert.equal(gets.length, n);
    await until(() => cache.pendingCount() === 0, "no pending entry");
    const afterGets = linkage(stop);
    assert.equal(afterGets.listeners, before.listeners, "abort listeners back to baseline");
    assert.ok(
      afterGets.dependants <= before.dependants,
      `dependant signals grew from ${before.dependants} to ${afterGets.dependants}`,
    );
    await new Promise((r) => setTimeout(r, 10)); // warnings are emitted on a later tick
    process.off("warning", onWarning);
    assert.deepEqual(warnings, [], "100 concurrent GETs are not a listener leak");
    await cache.stop();
  });
});

describe("ServiceAccountCache: a watch that goes silent", () => {
  it("asks the server to end each watch after 5 to 10 minutes", async () => {
    const source = new FakeSource();
    const { cache } = await started(source);
    try {
      const [asked] = source.watchTimeouts;
      assert.ok(asked !== undefined && asked >= 300 && asked < 600, `timeoutSeconds ${asked}`);
    } finally {
      await cache.stop();
    }
  });

  it("aborts a watch that delivers nothing past its timeout plus the margin, and watches again", async () => {
    const source = new FakeSource();
    source.deadWatches = 1; // the first watch's connection is dead: no event, no end, no error
    const { cache } = makeCache(source, { watchTimeoutMs: 40, watchIdleMarginMs: 40 });
    // Measured from before the start, so a late poll under load cannot shorten it.
    const t0 = Date.now();
    cache.start();
    try {
      await until(() => cache.synced() && source.deadWatchers.size === 1, "watching a dead connection");
      await until(() => source.watchers.size === 1, "a new watch", 1000);
      const waited = Date.now() - t0;
      assert.equal(source.deadWatchers.size, 0, "the dead watch was aborted");
      // The dead watch ran its timeout (40 to 79 ms) plus the 40 ms margin.
      assert.ok(waited >= 80, `gave up after ${waited} ms, before timeout + margin`);
      assert.deepEqual(source.watchCalls, ["100", "100"], "resumed from the same resourceVersion");
      assert.equal(source.listCalls, 1, "no relist needed");
      source.apply("a", "after", { [ROLE]: "arn:aws:iam::111122223333:role/after" });
      await until(() => cache.peek("a", "after") !== undefined, "the new account seen");
      assert.equal(cache.peek("a", "after")?.[ROLE], "arn:aws:iam::111122223333:role/after");
    } finally {
      await cache.stop();
    }
  });

  it("relists when the watch after a silent one finds its resourceVersion gone", async () => {
    const source = new FakeSource();
    source.deadWatches = 1;
    const { cache } = makeCache(source, { watchTimeoutMs: 20, watchIdleMarginMs: 20 });
    cache.start();
    try {
      await until(() => source.deadWatchers.size === 1, "watching a dead connection");
      source.put("a", "meanwhile"); // the dead watch never tells
      await until(() => source.watchers.size === 1, "a new watch", 1000);
      source.endWatches(Object.assign(new Error("Gone"), { statusCode: 410 }));
      await until(() => cache.peek("a", "meanwhile") !== undefined, "relisted");
      assert.equal(source.listCalls, 2);
    } finally {
      await cache.stop();
    }
  });

  it("keeps a watch that only delivers bookmarks, however long it runs", async () => {
    const source = new FakeSource();
    const { cache } = await started(source, { watchTimeoutMs: 40, watchIdleMarginMs: 40 });
    try {
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 25));
        source.emit({ type: "BOOKMARK", resourceVersion: String(200 + i) });
      }
      assert.equal(source.watchCalls.length, 1, "still the first watch");
    } finally {
      await cache.stop();
    }
  });
});

describe("ServiceAccountCache: what it tells the operator", () => {
  it("says once that the cache is synced, with how many accounts at which resourceVersion", async () => {
    const source = new FakeSource();
    source.put("a", "one");
    source.put("a", "two");
    const log = recordingLog();
    const { cache } = await started(source, { log });
    source.put("a", "three"); // the relist differs from the first list
    source.emit({ type: "ERROR", code: 410, message: "too old resource version" });
    await until(() => source.listCalls === 2 && source.watchers.size === 1, "relisted");
    await cache.stop();
    const synced = log.lines.filter((l) => l.msg === "service account cache synced");
    assert.deepEqual(synced, [
      {
        level: "info",
        msg: "service account cache synced",
        obj: { serviceAccounts: 2, resourceVersion: "102" },
      },
    ]);
  });

  it("logs a failed direct GET at warn with the account and the error, a 404 at debug", async () => {
    const source = new FakeSource();
    const log = recordingLog();
    const { cache } = await started(source, { log });
    source.getImpl = () => Promise.reject(new Error("forbidden"));
    assert.equal((await cache.lookup("a", "denied", 30)).via, "miss");
    source.getImpl = () => Promise.reject("not an Error"); // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors
    assert.equal((await cache.lookup("a", "odd", 30)).via, "miss");
    source.getImpl = undefined;
    assert.equal((await cache.lookup("a", "absent", 30)).via, "miss");
    await cache.stop();
    const failed = "direct service account lookup failed; waiting for the watch until the grace period ends";
    assert.deepEqual(
      log.lines.filter((l) => l.level !== "info"),
      [
        { level: "warn", msg: failed, obj: { namespace: "a", name: "denied", err: "forbidden" } },
        { level: "warn", msg: failed, obj: { namespace: "a", name: "odd", err: "not an Error" } },
        {
          level: "debug",
          msg: "service account not found by direct lookup",
          obj: { namespace: "a", name: "absent" },
        },
      ],
    );
  });
});
