/**
 * The webhook's GET rate gate (src/webhook/get-gate.ts) on its own: which direct GETs start at
 * once, which queue for a token and in what order, which are dropped, and which accounts are not
 * asked for again after a 404. No fakes: the gate's clock and timers are the real ones, with rates
 * chosen so that a test either sees a token come within milliseconds or not for many seconds.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  GetGate,
  MAX_NEGATIVE_ENTRIES,
  type GetGateOptions,
  type GetSkipped,
} from "../../src/webhook/get-gate.js";

/** A rate so low that no token comes back during a test. */
const NEVER = 0.001;

function gate(opts: GetGateOptions = {}) {
  const skipped: GetSkipped[] = [];
  const started: string[] = [];
  const g = new GetGate({ onGetSkipped: (why) => skipped.push(why), ...opts });
  const request = (key: string, wanted: () => boolean = () => true): boolean =>
    g.request(key, () => started.push(key), wanted);
  return { g, skipped, started, request };
}

async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Holds the event loop for `ms`: the gate's bucket refills meanwhile (its clock runs) but its timer
 * cannot fire, so a test can act at a moment when a token is there and the queue not drained yet.
 */
function holdEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: no timer runs until this returns
  }
}

describe("GetGate: the rate", () => {
  it("by default starts 50 GETs at once and queues the 51st", () => {
    const { g, skipped, started, request } = gate();
    for (let i = 0; i < 50; i++) assert.equal(request(`k${i}`), true, `GET ${i} starts at once`);
    assert.equal(request("k50"), false);
    assert.equal(started.length, 50);
    assert.deepEqual(skipped, ["rate_limited"]);
    assert.equal(g.queued("k50"), true);
    g.stop();
  });

  it("by default lets a queued GET start about 50 ms later (20 per second)", async () => {
    const { g, started, request } = gate();
    for (let i = 0; i < 50; i++) request(`k${i}`);
    const t0 = performance.now();
    request("late");
    await until(() => started.includes("late"), "the queued GET starts");
    const waited = performance.now() - t0;
    assert.ok(waited >= 40 && waited < 1000, `started after ${waited.toFixed(0)} ms`);
    assert.equal(g.queued("late"), false);
    g.stop();
  });

  it("getBurst sets how many GETs start at once", () => {
    const { g, started, request } = gate({ getBurst: 2, getRate: NEVER });
    assert.equal(request("a"), true);
    assert.equal(request("b"), true);
    assert.equal(request("c"), false);
    assert.deepEqual(started, ["a", "b"]);
    g.stop();
  });

  it("getRate sets how soon a queued GET starts", async () => {
    const { g, started, request } = gate({ getBurst: 1, getRate: 1000 });
    request("a");
    assert.equal(request("b"), false);
    await until(() => started.includes("b"), "a token within milliseconds at 1000 per second", 500);
    g.stop();
  });

  it("a queued GET starts when a token comes, oldest first, one per token", async () => {
    const { g, started, request } = gate({ getBurst: 1, getRate: 50 });
    request("first");
    for (const k of ["q1", "q2", "q3"]) assert.equal(request(k), false);
    await until(() => started.length === 4, "every queued GET starts");
    assert.deepEqual(started, ["first", "q1", "q2", "q3"]);
    g.stop();
  });

  it("while GETs are queued a new one queues behind them, even when a token is there", async () => {
    const { g, started, request } = gate({ getBurst: 1, getRate: 20 });
    request("a");
    assert.equal(request("queued"), false);
    holdEventLoop(80); // a token is back (one per 50 ms), the queue's timer has not run yet
    assert.equal(request("late"), false, "it does not jump the queue");
    assert.equal(g.queued("late"), true);
    await until(() => started.includes("late"), "the late GET starts after the queued one");
    assert.deepEqual(started, ["a", "queued", "late"]);
    g.stop();
  });

  it("a key already queued is queued once: one report, one GET", async () => {
    const { g, skipped, started, request } = gate({ getBurst: 1, getRate: 100 });
    request("a");
    assert.equal(request("b"), false);
    assert.equal(request("b"), false);
    assert.deepEqual(skipped, ["rate_limited"]);
    await until(() => started.includes("b"), "b starts");
    await sleep(30);
    assert.deepEqual(started, ["a", "b"]);
    g.stop();
  });

  it("a queued GET nobody wants any more is dropped, and the token goes to the next one", async () => {
    const { g, started, request } = gate({ getBurst: 1, getRate: 20 });
    request("a");
    let wanted = true;
    request("dropped", () => wanted);
    request("next");
    wanted = false;
    holdEventLoop(80); // exactly one token is back (the burst is 1), the queue's timer is due
    await sleep(1); // the queue's timer was due first, so it has run by now
    assert.deepEqual(started, ["a", "next"], "the one token went to the next GET");
    assert.equal(g.queued("dropped"), false);
    assert.equal(g.queued("next"), false);
    g.stop();
  });

  it("waits for a token on a timer set to when it comes, not by asking the queue over and over", async () => {
    const { g, started } = gate({ getBurst: 1, getRate: 5 });
    g.request(
      "a",
      () => started.push("a"),
      () => true,
    );
    let asked = 0;
    g.request(
      "b",
      () => started.push("b"),
      () => {
        asked++;
        return true;
      },
    );
    await until(() => started.includes("b"), "b starts when a token comes (200 ms)");
    assert.ok(asked <= 3, `the queue was looked at ${asked} times for one token`);
    g.stop();
  });

  it("the queue drains in order past GETs nobody wants, up to the tokens there are", async () => {
    const { g, started, request } = gate({ getBurst: 2, getRate: 10 });
    request("a");
    request("b");
    request("gone-1", () => false);
    request("wanted-1");
    request("gone-2", () => false);
    request("wanted-2");
    await until(() => started.length === 4, "both wanted GETs start");
    assert.deepEqual(started, ["a", "b", "wanted-1", "wanted-2"]);
    g.stop();
  });

  it("cancel() takes a GET off the queue: it never starts", async () => {
    const { g, started, request } = gate({ getBurst: 1, getRate: 100 });
    request("a");
    request("cancelled");
    assert.equal(g.queued("cancelled"), true);
    g.cancel("cancelled");
    assert.equal(g.queued("cancelled"), false);
    request("other");
    await until(() => started.includes("other"), "the other GET starts");
    await sleep(30);
    assert.deepEqual(started, ["a", "other"]);
    g.stop();
  });

  it("stop() empties the queue and its timer: nothing starts after it", async () => {
    const { g, started, request } = gate({ getBurst: 1, getRate: 100 });
    request("a");
    request("b");
    g.stop();
    assert.equal(g.queued("b"), false);
    await sleep(50);
    assert.deepEqual(started, ["a"]);
  });

  it("a gate stopped with GETs queued at a low rate leaves no timer that keeps the process up", () => {
    const { g, request } = gate({ getBurst: 1, getRate: NEVER });
    request("a");
    request("b");
    g.stop();
    // A timer left behind would keep this file's process up for the 1,000 s until that token.
    assert.equal(g.queued("b"), false);
  });
});

describe("GetGate: accounts the API server said are missing", () => {
  it("an account remembered as missing is not asked for again; the skip is reported", () => {
    const { g, skipped, started, request } = gate();
    g.rememberMissing("ghost");
    assert.equal(request("ghost"), false);
    assert.deepEqual(started, []);
    assert.deepEqual(skipped, ["known_missing"]);
    assert.equal(g.queued("ghost"), false, "not queued either");
    assert.equal(request("other"), true, "other accounts are asked for");
  });

  it("the default TTL keeps a 404 for longer than a moment", async () => {
    const { g, started, request } = gate();
    g.rememberMissing("ghost");
    await sleep(50);
    assert.equal(request("ghost"), false);
    assert.deepEqual(started, []);
  });

  it("a 404 older than negativeTtlMs is asked for again, and then no longer remembered", async () => {
    const { g, skipped, started, request } = gate({ negativeTtlMs: 30 });
    g.rememberMissing("ghost");
    assert.equal(request("ghost"), false);
    await sleep(40);
    assert.equal(request("ghost"), true);
    assert.equal(request("ghost"), true);
    assert.deepEqual(started, ["ghost", "ghost"]);
    assert.deepEqual(skipped, ["known_missing"]);
  });

  it("forget() ends a remembered 404 at once", () => {
    const { g, started, request } = gate();
    g.rememberMissing("ghost");
    g.forget("ghost");
    assert.equal(request("ghost"), true);
    assert.deepEqual(started, ["ghost"]);
  });

  it("a known-missing account uses no token", () => {
    const { g, started, request } = gate({ getBurst: 1, getRate: NEVER });
    g.rememberMissing("ghost");
    for (let i = 0; i < 5; i++) request("ghost");
    assert.equal(request("real"), true);
    assert.deepEqual(started, ["real"]);
    g.stop();
  });

  it("without an onGetSkipped callback, skipped GETs are just not made", () => {
    const g = new GetGate({ getBurst: 1, getRate: NEVER });
    const started: string[] = [];
    g.rememberMissing("ghost");
    assert.equal(
      g.request(
        "ghost",
        () => started.push("ghost"),
        () => true,
      ),
      false,
    );
    assert.equal(
      g.request(
        "a",
        () => started.push("a"),
        () => true,
      ),
      true,
    );
    assert.equal(
      g.request(
        "b",
        () => started.push("b"),
        () => true,
      ),
      false,
    );
    assert.deepEqual(started, ["a"]);
    g.stop();
  });

  it(`remembers at most ${MAX_NEGATIVE_ENTRIES} accounts, forgetting the oldest first`, () => {
    const { g, request } = gate({ getRate: NEVER, getBurst: 10 });
    for (let i = 0; i <= MAX_NEGATIVE_ENTRIES; i++) g.rememberMissing(`ghost-${i}`);
    assert.equal(request("ghost-0"), true, "the oldest was forgotten");
    assert.equal(request("ghost-1"), false, "the next oldest is still remembered");
    assert.equal(request(`ghost-${MAX_NEGATIVE_ENTRIES}`), false, "the newest is remembered");
    g.stop();
  });

  it("remembering an account again makes it the newest", () => {
    const { g, request } = gate({ getRate: NEVER, getBurst: 10 });
    for (let i = 0; i < MAX_NEGATIVE_ENTRIES; i++) g.rememberMissing(`ghost-${i}`);
    g.rememberMissing("ghost-0");
    g.rememberMissing("one-more");
    assert.equal(request("ghost-0"), false, "ghost-0 was renewed, so not the oldest");
    assert.equal(request("ghost-1"), true, "ghost-1 became the oldest and was forgotten");
    g.stop();
  });
});
