import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Backoff } from "../../src/runtime/backoff.js";

describe("Backoff", () => {
  it("doubles from the first delay up to the ceiling, and starts over after reset", () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 5000, jitter: 0 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [1000, 2000, 4000, 5000, 5000]);
    assert.equal(b.failures, 5);
    b.reset();
    assert.equal(b.next(), 1000);
  });
  it("jitter only shortens a delay, by at most its fraction", () => {
    const lo = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2, random: () => 0.999999 });
    const hi = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2, random: () => 0 });
    assert.equal(lo.next(), 800);
    assert.equal(hi.next(), 1000);
  });
});
