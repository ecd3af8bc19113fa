/**
 * The reflector's reconnects after an API-server outage and how the cache reports it, against the
 * in-memory FAKE source (test/support/fake-sa-source.ts) so outages and recoveries are scripted.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { afterEach, describe, it } from "node:test";
import { DEFAULT_BACKOFF_MAX_MS } from "../../src/webhook/reflector.js";
import { ServiceAccountCache, serviceAccountAnnotationKeys } from "../../src/webhook/sa-cache.js";
import { WebhookMetrics } from "../../src/webhook/metrics.js";
import { FakeServiceAccountSource, quiet, recordingLog } from "../support/fake-sa-source.js";

const ROLE = "eks.amazonaws.com/role-arn";

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

// Every cache a test made is stopped after it, passed or failed: a failed assertion must not leave
// a reflector retrying forever, which keeps the file from ever exiting.
const made: ServiceAccountCache[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((c) => c.stop()));
});

function cacheOn(
  source: FakeServiceAccountSource,
  extra: Partial<ConstructorParameters<typeof ServiceAccountCache>[1]> = {},
) {
  const cache = new ServiceAccountCache(source, {
    annotationKeys: serviceAccountAnnotationKeys("eks.amazonaws.com"),
    getTimeoutMs: 1000,
    log: quiet,
    ...extra,
  });
  made.push(cache);
  return cache;
}

describe("reflector: reconnecting after an API-server outage", () => {
  it("caps the reconnect backoff at a few seconds by default", () => {
    assert.ok(DEFAULT_BACKOFF_MAX_MS <= 5000, `cap ${DEFAULT_BACKOFF_MAX_MS} ms`);
    assert.ok(DEFAULT_BACKOFF_MAX_MS >= 1000, "not a hot loop against a server that is down");
  });

  it("waits longer after each failed reconnect, up to the cap, with jitter", async () => {
    const source = new FakeServiceAccountSource();
    const log = recordingLog();
    const cache = cacheOn(source, { backoffInitialMs: 20, backoffMaxMs: 400, log });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    const gaps: number[] = [];
    for (let i = 0; i < 10; i++) {
      const calls = source.watchCalls.length;
      const t0 = performance.now();
      source.endWatches(new Error("connect ECONNREFUSED"));
      await until(() => source.watchCalls.length > calls && source.watchers.size === 1, "reconnect");
      gaps.push(performance.now() - t0);
    }
    await cache.stop();
    // The waits the reflector chose, as it logs them: backoff 20, 40, 80, 160, 320, then 400 (the
    // cap), each taken x0.5 to x1. Read from the log, not from the clock, so a loaded machine that
    // lengthens every gap cannot hide a wrong backoff or fake a right one.
    const waits = log.lines
      .filter((l) => l.msg.startsWith("service account watch failed"))
      .map((l) => l.obj["retryInMs"]);
    const backoffs = [20, 40, 80, 160, 320, 400, 400, 400, 400, 400];
    assert.equal(waits.length, backoffs.length, `logged waits ${waits.join(", ")}`);
    waits.forEach((w, i) => {
      const b = backoffs[i] ?? 0;
      assert.ok(
        typeof w === "number" && w >= b / 2 && w <= b,
        `wait ${i + 1} was ${String(w)} ms, not within [${b / 2}, ${b}] (all: ${waits.join(", ")})`,
      );
    });
    assert.ok(
      waits.some((w, i) => w !== backoffs[i]),
      `no jitter: every wait was the full backoff (${waits.join(", ")})`,
    );
    // And it does wait that long before reconnecting (timers never fire early by more than the
    // clock's rounding).
    gaps.forEach((g, i) => {
      const w = waits[i] as number;
      assert.ok(g >= w - 2, `reconnect ${i + 1} came after ${g.toFixed(1)} ms, before its ${w} ms wait`);
    });
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

describe("reflector: what it tells the operator", () => {
  it("logs a failed list at warn with the error, the jittered retry delay and that the cache is not synced", async () => {
    const source = new FakeServiceAccountSource();
    source.listFailures = 1;
    const log = recordingLog();
    const cache = cacheOn(source, { backoffInitialMs: 40, backoffMaxMs: 400, log });
    cache.start();
    await until(() => cache.synced(), "synced");
    await cache.stop();
    const [line, ...more] = log.lines.filter((l) => l.level === "warn");
    assert.equal(more.length, 0);
    assert.equal(line?.msg, "service account list failed; the cache may be stale until it answers again");
    const { err, retryInMs, synced, staleForMs } = line.obj;
    assert.equal(err, "connect ECONNREFUSED");
    assert.equal(synced, false);
    // The first wait is the initial backoff times a jitter in [0.5, 1).
    assert.ok(
      typeof retryInMs === "number" && retryInMs >= 20 && retryInMs <= 40,
      `retryInMs ${String(retryInMs)}`,
    );
    // Stale since the failure just logged, not since the epoch.
    assert.ok(
      typeof staleForMs === "number" && staleForMs >= 0 && staleForMs < 3_600_000,
      `staleForMs ${String(staleForMs)}`,
    );
  });

  it("logs a failed watch at warn, synced, with how long the cache has been stale through the outage", async () => {
    const source = new FakeServiceAccountSource();
    const log = recordingLog();
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10, log });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    source.endWatches(new Error("socket hang up"));
    await until(() => source.watchCalls.length === 2 && source.watchers.size === 1, "watching again");
    await new Promise((r) => setTimeout(r, 30));
    source.endWatches(new Error("socket hang up"));
    await until(() => source.watchCalls.length === 3 && source.watchers.size === 1, "watching again");
    await cache.stop();
    const warns = log.lines.filter((l) => l.level === "warn");
    assert.deepEqual(
      warns.map((l) => [l.msg, l.obj.err, l.obj.synced]),
      [
        [
          "service account watch failed; the cache may be stale until it answers again",
          "socket hang up",
          true,
        ],
        [
          "service account watch failed; the cache may be stale until it answers again",
          "socket hang up",
          true,
        ],
      ],
    );
    // No event came between the two failures: the second counts from the first.
    const stale = Number(warns[1]?.obj.staleForMs);
    assert.ok(stale >= 30 && stale < 3_600_000, `staleForMs ${stale}`);
  });

  it("logs an ERROR event other than 410 and keeps the watch, without relisting", async () => {
    const source = new FakeServiceAccountSource();
    const log = recordingLog();
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10, log });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    source.emit({ type: "ERROR", code: 500, message: "internal error" });
    source.apply("a", "after", { [ROLE]: "arn:aws:iam::111122223333:role/after" });
    assert.equal(cache.peek("a", "after")?.[ROLE], "arn:aws:iam::111122223333:role/after");
    assert.equal(source.listCalls, 1);
    assert.equal(source.watchCalls.length, 1);
    await cache.stop();
    assert.deepEqual(
      log.lines.filter((l) => l.level === "warn"),
      [
        {
          level: "warn",
          msg: "service account watch error event",
          obj: { code: 500, err: "internal error" },
        },
      ],
    );
  });

  it("logs each relist after a 410 with the resourceVersion that expired", async () => {
    const source = new FakeServiceAccountSource();
    const log = recordingLog();
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10, log });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    source.emit({ type: "BOOKMARK", resourceVersion: "180" });
    source.emit({ type: "ERROR", code: 410, message: "too old resource version" });
    await until(() => source.listCalls === 2 && source.watchers.size === 1, "relisted");
    await cache.stop();
    assert.deepEqual(
      log.lines.filter((l) => l.msg.includes("expired")),
      [
        {
          level: "info",
          msg: "service account watch expired; relisting",
          obj: { resourceVersion: "180" },
        },
      ],
    );
  });

  it("says why it gave up on a silent watch: the idle time and the server-side timeout asked for", async () => {
    const source = new FakeServiceAccountSource();
    source.deadWatches = 1;
    const log = recordingLog();
    const cache = cacheOn(source, {
      backoffInitialMs: 5,
      backoffMaxMs: 10,
      watchTimeoutMs: 40,
      watchIdleMarginMs: 40,
      log,
    });
    cache.start();
    await until(() => source.watchers.size === 1, "a new watch after the silent one", 2000);
    await cache.stop();
    const [line] = log.lines.filter((l) => l.level === "warn");
    assert.match(
      String(line?.obj.err),
      /^no event or bookmark for (8[0-9]|9[0-9]|1[01][0-9]) ms \(server-side timeout 1 s\): connection taken for dead$/,
    );
  });

  it("cuts a list that hangs at listTimeoutMs and lists again", async () => {
    const source = new FakeServiceAccountSource();
    source.hangingLists = 1;
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10, listTimeoutMs: 30 });
    cache.start();
    await until(() => cache.synced(), "synced after the hanging list was cut", 3000);
    assert.equal(source.listCalls, 2);
    await cache.stop();
  });
});

describe("reflector: what a watch's end means", () => {
  it("relists when the watch fails with code 410 as well as statusCode 410", async () => {
    const source = new FakeServiceAccountSource();
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10 });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    source.endWatches(Object.assign(new Error("Gone"), { code: 410 }));
    await until(() => source.listCalls === 2 && source.watchers.size === 1, "relisted");
    await cache.stop();
  });

  it("resumes without relisting after a failure that is no Error object, and logs it as text", async () => {
    const source = new FakeServiceAccountSource();
    const log = recordingLog();
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10, log });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    source.endWatches(null as unknown as Error);
    await until(() => source.watchCalls.length === 2 && source.watchers.size === 1, "watching again");
    source.endWatches("reset" as unknown as Error);
    await until(() => source.watchCalls.length === 3 && source.watchers.size === 1, "watching again");
    await cache.stop();
    assert.equal(source.listCalls, 1);
    assert.deepEqual(
      log.lines.filter((l) => l.level === "warn").map((l) => l.obj.err),
      ["null", "reset"],
    );
  });

  it("keeps the resume point when an event carries no resourceVersion", async () => {
    const source = new FakeServiceAccountSource();
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10 });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    source.apply("a", "x"); // rv 101
    source.emit({ type: "ADDED", object: { namespace: "a", name: "z", resourceVersion: "" } });
    source.emit({ type: "ADDED", object: { namespace: "a", name: "y" } });
    source.endWatches(new Error("socket hang up"));
    await until(() => source.watchCalls.length === 2, "watching again");
    assert.deepEqual(source.watchCalls, ["100", "101"]);
    assert.equal(source.listCalls, 1, "no relist either");
    await cache.stop();
  });

  it("re-makes a watch the server ends at once, again and again, after a backoff, not in a loop", async () => {
    const source = new FakeServiceAccountSource();
    const cache = cacheOn(source, { backoffInitialMs: 50, backoffMaxMs: 100 });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    const end = Date.now() + 300;
    while (Date.now() < end) {
      source.endWatches();
      await new Promise((r) => setTimeout(r, 1));
    }
    await cache.stop();
    // Without the backoff a watch is made every few microseconds: thousands in 300 ms.
    assert.ok(source.watchCalls.length <= 10, `${source.watchCalls.length} watches in 300 ms`);
    assert.equal(source.listCalls, 1);
  });

  it("doubles the wait after each watch that ends at once, from the initial backoff", async () => {
    const source = new FakeServiceAccountSource();
    const cache = cacheOn(source, { backoffInitialMs: 10, backoffMaxMs: 5000 });
    cache.start();
    // Waits of 10, 20 and 40 ms make the fourth watch; jumping to the 5 s cap would not, in 2 s.
    for (let i = 1; i <= 4; i++) {
      await until(() => source.watchCalls.length === i && source.watchers.size === 1, `watch ${i}`, 2000);
      source.endWatches();
    }
    await cache.stop();
  });

  it("re-watches at once after the server ends a watch that ran a while, whatever an outage grew", async () => {
    const source = new FakeServiceAccountSource();
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 400 });
    cache.start();
    // An outage: every watch fails at once, the backoff grows to its 400 ms cap.
    for (let i = 0; i < 10; i++) {
      await until(() => source.watchers.size === 1, "watching", 5000);
      source.endWatches(new Error("connect ECONNREFUSED"));
    }
    await until(() => source.watchers.size === 1, "watching", 5000);
    await new Promise((r) => setTimeout(r, 1100));
    const calls = source.watchCalls.length;
    const t0 = Date.now();
    source.endWatches(); // the server's own timeout: a clean end
    await until(() => source.watchCalls.length > calls, "watching again", 5000);
    const waited = Date.now() - t0;
    await cache.stop();
    assert.ok(waited < 150, `re-watched after ${waited} ms; the outage's backoff (200 to 400 ms) was kept`);
  });
});

describe("reflector: watches it gives up on, and stopping", () => {
  it("ignores what a watch it gave up on delivers afterwards", async () => {
    const source = new FakeServiceAccountSource();
    source.deadWatches = 1;
    const cache = cacheOn(source, {
      backoffInitialMs: 5,
      backoffMaxMs: 10,
      watchTimeoutMs: 20,
      watchIdleMarginMs: 20,
    });
    cache.start();
    await until(() => source.deadWatchers.size === 1, "watching a dead connection");
    const [dead] = [...source.deadWatchers];
    await until(() => source.watchers.size === 1, "a new watch after the silent one");
    dead?.onEvent({
      type: "ADDED",
      object: {
        namespace: "a",
        name: "stale",
        annotations: { [ROLE]: "arn:aws:iam::111122223333:role/stale" },
      },
    });
    assert.equal(cache.peek("a", "stale"), undefined);
    await cache.stop();
  });

  it("gives up on a silent watch whose abort rejects without an unhandled rejection", async () => {
    const source = new FakeServiceAccountSource();
    source.deadWatches = 1;
    source.rejectOnAbort = true;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on("unhandledRejection", onUnhandled);
    try {
      const cache = cacheOn(source, {
        backoffInitialMs: 5,
        backoffMaxMs: 10,
        watchTimeoutMs: 20,
        watchIdleMarginMs: 20,
      });
      cache.start();
      await until(() => source.watchers.size === 1, "a new watch after the silent one");
      await new Promise((r) => setTimeout(r, 20));
      await cache.stop();
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });

  it("relists after a 410 event without logging a failure when the aborted watch rejects", async () => {
    const source = new FakeServiceAccountSource();
    source.rejectOnAbort = true;
    const log = recordingLog();
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10, log });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    source.emit({ type: "ERROR", code: 410, message: "too old resource version" });
    await until(() => source.listCalls === 2 && source.watchers.size === 1, "relisted");
    await cache.stop();
    assert.deepEqual(
      log.lines.filter((l) => l.level === "warn"),
      [],
      "stop() is no failure either",
    );
  });

  it("counts a watch the server ends itself as contact: the cache is not disconnected", async () => {
    let now = 1_000_000;
    const source = new FakeServiceAccountSource();
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10, now: () => now });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    source.endWatches();
    await until(() => source.watchCalls.length === 2 && source.watchers.size === 1, "watching again");
    now += 5000;
    assert.equal(cache.disconnectedForMs(), 0);
    await cache.stop();
  });

  it("counts how long the cache is stale from the latest outage, not an earlier one", async () => {
    const source = new FakeServiceAccountSource();
    const log = recordingLog();
    const at: number[] = [];
    const warn = log.warn.bind(log);
    log.warn = (obj, msg) => {
      at.push(Date.now());
      warn(obj, msg);
    };
    const cache = cacheOn(source, { backoffInitialMs: 5, backoffMaxMs: 10, log });
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    source.endWatches(new Error("socket hang up"));
    await until(() => source.watchCalls.length === 2 && source.watchers.size === 1, "watching again");
    await new Promise((r) => setTimeout(r, 100));
    source.emit({ type: "BOOKMARK", resourceVersion: "150" }); // the server answers: the outage is over
    source.endWatches(new Error("socket hang up"));
    await until(() => source.watchCalls.length === 3 && source.watchers.size === 1, "watching again");
    await cache.stop();
    const stale = log.lines.filter((l) => l.level === "warn").map((l) => Number(l.obj.staleForMs));
    const gap = (at[1] ?? 0) - (at[0] ?? 0);
    assert.ok(
      gap >= 100 && (stale[1] ?? Infinity) < gap,
      `stale ${String(stale[1])} ms, outages ${gap} ms apart`,
    );
  });

  it("waits between backoff/2 and backoff before each retry, whatever the random draw", async () => {
    const source = new FakeServiceAccountSource();
    source.listFailures = 10;
    const log = recordingLog();
    const cache = cacheOn(source, { backoffInitialMs: 8, backoffMaxMs: 8, log });
    cache.start();
    await until(() => cache.synced(), "synced after ten failed lists", 5000);
    await cache.stop();
    const delays = log.lines.filter((l) => l.level === "warn").map((l) => Number(l.obj.retryInMs));
    assert.equal(delays.length, 10);
    assert.ok(
      delays.every((d) => d >= 4 && d <= 8),
      `retry delays ${delays.join(", ")} ms`,
    );
  });

  it("asks for a different server-side timeout on successive watches, so replicas spread out", async () => {
    const source = new FakeServiceAccountSource();
    const cache = cacheOn(source, { backoffInitialMs: 1, backoffMaxMs: 1 });
    cache.start();
    for (let i = 1; i <= 5; i++) {
      await until(() => source.watchCalls.length === i && source.watchers.size === 1, "watching");
      source.endWatches();
    }
    await cache.stop();
    const asked = new Set(source.watchTimeouts.slice(0, 5));
    // Each is one of 300 whole seconds: five equal draws happen once in 8 × 10^9 runs.
    assert.ok(asked.size > 1, `timeoutSeconds ${[...asked].join(", ")}`);
  });

  it("leaves no listener behind on the stop signal, however often it relists", async () => {
    const source = new FakeServiceAccountSource();
    const cache = cacheOn(source, { backoffInitialMs: 1, backoffMaxMs: 1 });
    const stop = (cache as unknown as { stopController: AbortController }).stopController.signal;
    cache.start();
    await until(() => cache.synced() && source.watchers.size === 1, "watching");
    const before = getEventListeners(stop, "abort").length;
    for (let i = 2; i <= 21; i++) {
      source.emit({ type: "ERROR", code: 410, message: "too old resource version" });
      await until(() => source.listCalls === i && source.watchers.size === 1, "relisted");
    }
    assert.equal(getEventListeners(stop, "abort").length, before);
    await cache.stop();
  });
});
