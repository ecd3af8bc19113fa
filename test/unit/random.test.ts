import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { randomJitter } from "../../src/adapters/random.js";

describe("randomJitter (the production jitter the webhook and irsa mutate use)", () => {
  it("returns integers in [0, bound) and covers the range", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = randomJitter(7);
      assert.ok(Number.isInteger(v) && v >= 0 && v < 7, `out of range: ${v}`);
      seen.add(v);
    }
    assert.equal(seen.size, 7, "every value of a small range appears in 2000 draws");
  });

  it("spreads a 2 h bound (container-credentials mode) instead of returning a constant", () => {
    const draws = Array.from({ length: 50 }, () => randomJitter(7200));
    assert.ok(new Set(draws).size > 40, `50 draws gave only ${new Set(draws).size} distinct values`);
    assert.ok(draws.every((v) => v >= 0 && v < 7200));
  });

  it("answers 0 for a bound of 1 or less instead of throwing", () => {
    assert.equal(randomJitter(1), 0);
    assert.equal(randomJitter(0), 0);
  });
});
