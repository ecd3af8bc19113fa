/** linkedSignal: a child signal that follows its parent and unlinks itself (no AbortSignal.any leak). */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { linkedSignal } from "../../src/runtime/linked-signal.js";

describe("linkedSignal", () => {
  it("aborts the child when the parent aborts, with the parent's reason, and unlinks", () => {
    const parent = new AbortController();
    const child = linkedSignal(parent.signal);
    assert.equal(getEventListeners(parent.signal, "abort").length, 1);
    parent.abort(new Error("stopping"));
    assert.equal(child.signal.aborted, true);
    assert.equal((child.signal.reason as Error).message, "stopping");
    assert.equal(getEventListeners(parent.signal, "abort").length, 0);
  });

  it("is aborted at once when the parent already is", () => {
    const parent = new AbortController();
    parent.abort("gone");
    const child = linkedSignal(parent.signal, 1000);
    assert.equal(child.signal.aborted, true);
    assert.equal(child.signal.reason, "gone");
    assert.equal(getEventListeners(parent.signal, "abort").length, 0);
  });

  it("dispose() and abort() take the listener off the parent, which stays unaborted", () => {
    const parent = new AbortController();
    const baseline = getEventListeners(parent.signal, "abort").length;
    for (let i = 0; i < 2000; i++) {
      const child = linkedSignal(parent.signal, 60_000);
      if (i % 2 === 0) child.dispose();
      else child.abort();
    }
    assert.equal(getEventListeners(parent.signal, "abort").length, baseline);
    assert.equal(parent.signal.aborted, false);
  });

  it("a disposed child no longer follows the parent", () => {
    const parent = new AbortController();
    const child = linkedSignal(parent.signal);
    child.dispose();
    parent.abort();
    assert.equal(child.signal.aborted, false);
  });

  it("times out with a TimeoutError", async () => {
    const parent = new AbortController();
    const child = linkedSignal(parent.signal, 10);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(child.signal.aborted, true);
    assert.equal((child.signal.reason as DOMException).name, "TimeoutError");
    assert.equal(getEventListeners(parent.signal, "abort").length, 0);
  });
});
