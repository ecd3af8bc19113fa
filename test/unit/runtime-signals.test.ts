/**
 * The cancellable waits: `sleep` past what one Node timer holds (Node fires such a timer after
 * 1 ms), and `sleepUntil` following the wall clock (read through an injected clock) rather than
 * the monotonic time a timer counts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_TIMER_MS, sleep, sleepUntil } from "../../src/runtime/signals.js";

const DAY_MS = 24 * 3600 * 1000;

/** Whether `p` has settled within `ms` of real time. */
async function settledWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

describe("sleep", () => {
  it("waits past what one timer holds (60 days) until aborted, with no overflow warning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on("warning", onWarning);
    try {
      const stop = new AbortController();
      const p = sleep(60 * DAY_MS, stop.signal);
      assert.equal(await settledWithin(p, 100), false, "a 60-day wait ended at once");
      stop.abort();
      assert.equal(await settledWithin(p, 50), true, "abort ends the wait");
      assert.deepEqual(warnings, []);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("ends after the delay, and at once when already aborted", async () => {
    assert.equal(await settledWithin(sleep(10, new AbortController().signal), 200), true);
    assert.equal(await settledWithin(sleep(MAX_TIMER_MS, AbortSignal.abort()), 20), true);
  });
});

describe("sleepUntil", () => {
  it("ends within a step once the wall clock passes the deadline (a suspend or a stepped clock)", async () => {
    let clock = 1_000_000;
    const at = clock + 60 * DAY_MS;
    const stop = new AbortController();
    try {
      const p = sleepUntil(at, stop.signal, 20, () => clock);
      assert.equal(await settledWithin(p, 100), false, "the deadline is 60 days away");
      clock = at; // the machine slept for 60 days: no timer counted them
      assert.equal(await settledWithin(p, 200), true, "the next step sees the deadline passed");
    } finally {
      stop.abort(); // a failed check must not leave a wait holding the process open
    }
  });

  it("does not end before the deadline while the clock stands just short of it", async () => {
    const stop = new AbortController();
    const p = sleepUntil(1001, stop.signal, 10, () => 1000);
    assert.equal(await settledWithin(p, 100), false);
    stop.abort();
    assert.equal(await settledWithin(p, 50), true);
  });

  it("ends at once for a deadline already passed, or when aborted", async () => {
    assert.equal(
      await settledWithin(
        sleepUntil(1000, new AbortController().signal, 60_000, () => 1000),
        20,
      ),
      true,
    );
    assert.equal(await settledWithin(sleepUntil(Date.now() + DAY_MS, AbortSignal.abort()), 20), true);
  });

  it("follows the real clock by default", async () => {
    const t0 = Date.now();
    await sleepUntil(t0 + 50, new AbortController().signal);
    assert.ok(Date.now() >= t0 + 50);
  });
});
