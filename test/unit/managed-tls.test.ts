/**
 * The webhook's own TLS, decided from what its Secret holds (src/core/tls/managed.ts): when the
 * serving certificate or the CA is renewed, when a Secret is replaced whole, what is patched into
 * the MutatingWebhookConfiguration, and which API answers mean "another replica won".
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bundleAfterRotation,
  caBundlePatch,
  decideTls,
  renewalDue,
  writeOutcome,
  type StoredLeaf,
  type StoredTls,
  type TlsDecision,
  type Validity,
} from "../../src/core/tls/managed.js";

const DAY = 86_400_000;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const POLICY = { caPropagationMs: 10 * 60_000 };

const ca: Validity = { notBefore: T0, notAfter: T0 + 3650 * DAY };
const leafOf = (over: Partial<StoredLeaf> = {}): StoredLeaf => ({
  notBefore: T0,
  notAfter: T0 + 90 * DAY,
  issuedByFirstCa: true,
  coversNames: true,
  ...over,
});
const stored = (over: Partial<Extract<StoredTls, { kind: "stored" }>> = {}): StoredTls => ({
  kind: "stored",
  cas: [ca],
  leaf: leafOf(),
  caAddedAt: undefined,
  ...over,
});

describe("renewalDue: two thirds of the lifetime", () => {
  const v = { notBefore: T0, notAfter: T0 + 90 * DAY };
  for (const [at, due] of [
    [T0, false],
    [T0 + 60 * DAY - 1, false],
    [T0 + 60 * DAY, true],
    [T0 + 89 * DAY, true],
  ] as const) {
    it(`${(at - T0) / DAY} days into a 90-day certificate: ${due ? "due" : "not due"}`, () => {
      assert.equal(renewalDue(v, at), due);
    });
  }
});

describe("decideTls", () => {
  const cases: [
    string,
    StoredTls,
    number,
    Partial<typeof POLICY> & { forceLeaf?: boolean },
    TlsDecision["action"],
    RegExp,
  ][] = [
    ["no Secret: create it (create-if-absent)", { kind: "absent" }, T0, {}, "create", /no Secret/],
    [
      "an unusable Secret is replaced whole",
      { kind: "unusable", reason: "ca.key does not match" },
      T0,
      {},
      "recreate",
      /ca.key/,
    ],
    ["an empty CA bundle is replaced whole", stored({ cas: [] }), T0, {}, "recreate", /empty/],
    [
      "a fresh Secret written by another replica is adopted as it is",
      stored(),
      T0 + DAY,
      {},
      "keep",
      /current/,
    ],
    [
      "a serving certificate at two thirds of its life is renewed",
      stored(),
      T0 + 60 * DAY,
      {},
      "renew-leaf",
      /due for renewal/,
    ],
    ["one day before that it is kept", stored(), T0 + 59 * DAY, {}, "keep", /current/],
    [
      "SIGHUP forces a renewal of a fresh certificate",
      stored(),
      T0 + DAY,
      { forceLeaf: true },
      "renew-leaf",
      /requested/,
    ],
    ["an expired serving certificate is renewed", stored(), T0 + 91 * DAY, {}, "renew-leaf", /not valid now/],
    [
      "a certificate missing a name (--tls-san added) is renewed",
      stored({ leaf: leafOf({ coversNames: false }) }),
      T0 + DAY,
      {},
      "renew-leaf",
      /every name/,
    ],
    [
      "an expired CA: everything is replaced",
      stored({ cas: [{ notBefore: T0, notAfter: T0 + DAY }] }),
      T0 + 2 * DAY,
      {},
      "recreate",
      /CA is not valid/,
    ],
    [
      "a CA at two thirds of its life is rotated; the serving certificate stays",
      stored({ leaf: leafOf({ notBefore: T0 + 2430 * DAY, notAfter: T0 + 2520 * DAY }) }),
      T0 + 2434 * DAY,
      {},
      "rotate-ca",
      /CA is due/,
    ],
    [
      "after a rotation, a serving certificate from the old CA waits for the new CA to propagate",
      stored({ leaf: leafOf({ issuedByFirstCa: false }), caAddedAt: T0 + DAY }),
      T0 + DAY + 60_000,
      {},
      "keep",
      /older CA; waiting until 2026-01-02T00:10:00.000Z/,
    ],
    [
      "once propagated, it is renewed from the new CA",
      stored({ leaf: leafOf({ issuedByFirstCa: false }), caAddedAt: T0 + DAY }),
      T0 + DAY + 10 * 60_000,
      {},
      "renew-leaf",
      /older CA/,
    ],
    [
      "a forced renewal also waits for a CA that has not propagated",
      stored({ caAddedAt: T0 + DAY }),
      T0 + DAY + 1000,
      { forceLeaf: true },
      "keep",
      /requested; waiting/,
    ],
    [
      "an expired serving certificate does not wait for propagation (nothing would be served)",
      stored({ leaf: leafOf({ issuedByFirstCa: true, notAfter: T0 + DAY }), caAddedAt: T0 + 2 * DAY }),
      T0 + 2 * DAY + 1000,
      {},
      "renew-leaf",
      /not valid now/,
    ],
    [
      "an expired serving certificate from an older CA: everything is replaced",
      stored({ leaf: leafOf({ issuedByFirstCa: false, notAfter: T0 + DAY }) }),
      T0 + 2 * DAY,
      {},
      "recreate",
      /not from the signing CA/,
    ],
    [
      "a CA due while its serving certificate is expired: the certificate first",
      stored({ leaf: leafOf({ notAfter: T0 + DAY }) }),
      T0 + 2500 * DAY,
      {},
      "renew-leaf",
      /not valid now/,
    ],
  ];
  for (const [title, s, now, policy, action, reason] of cases) {
    it(title, () => {
      const d = decideTls(s, now, { ...POLICY, ...policy });
      assert.equal(d.action, action, d.reason);
      assert.match(d.reason, reason);
    });
  }

  it("a certificate is valid from its notBefore on, and no longer at its notAfter", () => {
    const leaf = leafOf({ notBefore: T0 + DAY, notAfter: T0 + 2 * DAY });
    const at = (now: number) => decideTls(stored({ leaf }), now, POLICY);
    assert.match(at(T0 + DAY - 1).reason, /not valid now/, "one millisecond before notBefore");
    assert.deepEqual(at(T0 + DAY), { action: "keep", reason: "current" }, "at notBefore");
    assert.deepEqual(at(T0 + 2 * DAY - 1).action, "renew-leaf", "due, but still valid");
    assert.doesNotMatch(at(T0 + 2 * DAY - 1).reason, /not valid/);
    assert.match(at(T0 + 2 * DAY).reason, /not valid now/, "at notAfter");
  });

  it("a CA that is not valid yet (its notBefore ahead of the clock) is replaced whole", () => {
    const early = stored({ cas: [{ notBefore: T0 + DAY, notAfter: T0 + 3650 * DAY }] });
    assert.deepEqual(decideTls(early, T0 + DAY - 1, POLICY), {
      action: "recreate",
      reason: "the signing CA is not valid now",
    });
    assert.equal(decideTls(early, T0 + DAY, POLICY).action, "keep");
  });

  it("replicas reading the same Secret decide the same thing (one of them wins the write)", () => {
    const s = stored();
    for (const at of [T0, T0 + 60 * DAY, T0 + 2434 * DAY]) {
      assert.deepEqual(decideTls(s, at, POLICY), decideTls(s, at, POLICY));
    }
  });
});

describe("bundleAfterRotation", () => {
  it("keeps the old CAs still valid, in order, and drops expired ones", () => {
    const a = { notBefore: T0, notAfter: T0 + 10 * DAY, n: "a" };
    const b = { notBefore: T0, notAfter: T0 + 2 * DAY, n: "b" };
    const c = { notBefore: T0, notAfter: T0 + 20 * DAY, n: "c" };
    assert.deepEqual(
      bundleAfterRotation([a, b, c], T0 + 3 * DAY).map((x) => x.n),
      ["a", "c"],
    );
    assert.deepEqual(bundleAfterRotation([a, b, c], T0 + 30 * DAY), []);
  });
  it("drops a CA at its notAfter, keeps it one millisecond before", () => {
    const a = { notBefore: T0, notAfter: T0 + DAY };
    assert.deepEqual(bundleAfterRotation([a], T0 + DAY - 1), [a]);
    assert.deepEqual(bundleAfterRotation([a], T0 + DAY), []);
  });
});

describe("caBundlePatch", () => {
  it("replaces a different caBundle and adds a missing one, guarded by the resourceVersion", () => {
    assert.deepEqual(
      caBundlePatch({ name: "w", resourceVersion: "42", caBundles: ["old", undefined, "new"] }, "new"),
      [
        { op: "test", path: "/metadata/resourceVersion", value: "42" },
        { op: "replace", path: "/webhooks/0/clientConfig/caBundle", value: "new" },
        { op: "add", path: "/webhooks/1/clientConfig/caBundle", value: "new" },
      ],
    );
  });
  it("is empty when every caBundle is already the bundle", () => {
    assert.deepEqual(caBundlePatch({ name: "w", resourceVersion: "1", caBundles: ["b", "b"] }, "b"), []);
  });
  it("is empty for a configuration with no webhooks", () => {
    assert.deepEqual(caBundlePatch({ name: "w", resourceVersion: "1", caBundles: [] }, "b"), []);
  });
  it("has no guard when the resourceVersion is unknown", () => {
    assert.deepEqual(caBundlePatch({ name: "w", resourceVersion: undefined, caBundles: ["a"] }, "b"), [
      { op: "replace", path: "/webhooks/0/clientConfig/caBundle", value: "b" },
    ]);
  });
});

describe("writeOutcome", () => {
  for (const [status, guarded, outcome] of [
    [199, false, undefined],
    [200, false, "written"],
    [201, false, "written"],
    [299, false, "written"],
    [300, false, undefined],
    [409, false, "lost-race"],
    [409, true, "lost-race"],
    [422, true, "lost-race"],
    [422, false, undefined],
    [403, false, undefined],
    [500, true, undefined],
  ] as const) {
    it(`${status}${guarded ? " to a guarded patch" : ""}: ${outcome ?? "an error"}`, () => {
      assert.equal(writeOutcome(status, guarded), outcome);
    });
  }
  it("a write is not a guarded patch unless the caller says so: its 422 is an error", () => {
    assert.equal(writeOutcome(422), undefined);
    assert.equal(writeOutcome(409), "lost-race");
  });
});
