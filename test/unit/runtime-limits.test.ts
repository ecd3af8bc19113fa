/** The runtime's limits: the token bucket, the rate-limited log and the bytes-in-flight budget. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ByteBudget } from "../../src/runtime/byte-budget.js";
import { TokenBucket } from "../../src/runtime/rate-limit.js";
import { rateLimitedLog } from "../../src/runtime/rate-limited-log.js";

describe("TokenBucket", () => {
  it("allows the burst, then the rate", () => {
    let now = 0;
    const b = new TokenBucket({ perSecond: 10, burst: 3, now: () => now });
    assert.deepEqual([b.take(), b.take(), b.take(), b.take()], [true, true, true, false]);
    assert.equal(b.waitMs(), 100);
    now = 100;
    assert.equal(b.take(), true);
    assert.equal(b.take(), false);
  });
});

describe("rateLimitedLog", () => {
  it("passes a burst of one message, drops the rest, and says how many were dropped", () => {
    let now = 0;
    const lines: { obj: object; msg: string }[] = [];
    const sink = (obj: object, msg: string): void => {
      lines.push({ obj, msg });
    };
    const log = rateLimitedLog(
      { debug: sink, info: sink, warn: sink, error: sink },
      { perSecond: 1, burst: 2, now: () => now },
    );
    for (let i = 0; i < 1000; i++) log.warn({ i }, "malformed");
    log.warn({}, "another problem");
    assert.equal(lines.length, 3, "two of the 1,000, and the other message");
    now = 1000;
    log.warn({ i: 1000 }, "malformed");
    assert.deepEqual(lines[3], { obj: { i: 1000, suppressed: 998 }, msg: "malformed" });
  });
});

describe("ByteBudget", () => {
  it("lets in what fits, queues the rest in order, and refuses a waiter after its wait", async () => {
    const budget = new ByteBudget(10);
    const a = await budget.acquire(6, 0);
    assert.ok(a);
    const order: string[] = [];
    const b = budget.acquire(6, 1000).then((r) => (order.push("b"), r));
    const c = budget.acquire(2, 1000).then((r) => (order.push("c"), r)); // fits, but waits behind b
    const d = await budget.acquire(9, 20);
    assert.equal(d, undefined, "no room within 20 ms");
    assert.deepEqual(budget.stats(), { inUse: 6, waiting: 2 });
    a();
    const [rb, rc] = await Promise.all([b, c]);
    assert.deepEqual(order, ["b", "c"]);
    assert.deepEqual(budget.stats(), { inUse: 8, waiting: 0 });
    rb?.();
    rc?.();
    rc?.(); // releasing twice gives nothing back twice
    assert.deepEqual(budget.stats(), { inUse: 0, waiting: 0 });
  });

  it("runs a request larger than the whole budget alone, and gives up on an aborted waiter", async () => {
    const budget = new ByteBudget(10);
    const big = await budget.acquire(50, 0);
    assert.ok(big);
    const gone = new AbortController();
    const waiter = budget.acquire(1, 10_000, gone.signal);
    gone.abort();
    assert.equal(await waiter, undefined);
    big();
    assert.deepEqual(budget.stats(), { inUse: 0, waiting: 0 });
  });
});
