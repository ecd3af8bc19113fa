import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  applyAddOperations,
  podServiceAccountName,
  webhookConfig,
  type PatchOperation,
} from "../../src/core/mutate/index.js";
import type { PodCreateRequest } from "../../src/core/admission.js";
import { parseGoDuration } from "../../src/core/go/parse.js";
import {
  DEADLINE_MARGIN_MS,
  MAX_GRACE_PERIOD_MS,
  gracePeriodFor,
  podAdmitter,
} from "../../src/webhook/admit.js";
import { fakeLookup, podCreateRequest } from "../support/admission.js";

describe("parseGoDuration (time.ParseDuration), in milliseconds", () => {
  const ok: [string, number][] = [
    ["0", 0],
    ["100ms", 100],
    ["1s", 1000],
    ["1.5s", 1500],
    ["1.25s", 1250],
    ["1m30s", 90_000],
    ["2h", 7_200_000],
    ["250us", 0.25],
    ["250µs", 0.25],
    ["1000000ns", 1],
    ["+2s", 2000],
    ["-1s", -1000],
    [".5s", 500],
    ["10s", 10_000],
  ];
  for (const [s, ms] of ok)
    it(`"${s}" is ${ms} ms`, () => {
      assert.equal(parseGoDuration(s), ms);
    });
  for (const s of ["", "1", "100", "s", "1x", "1.s.", ".s", "1 s", "1s ", "ms100", "-", "1e3s"]) {
    it(`"${s}" is refused`, () => {
      assert.equal(parseGoDuration(s), undefined);
    });
  }
});

describe("podServiceAccountName", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["serviceAccountName", { spec: { serviceAccountName: "app", serviceAccount: "old" } }, "app"],
    ["deprecated serviceAccount", { spec: { serviceAccount: "old" } }, "old"],
    ["empty name", { spec: { serviceAccountName: "" } }, "default"],
    ["neither", { spec: {} }, "default"],
    ["no spec", {}, "default"],
  ];
  for (const [name, pod, sa] of cases)
    it(name, () => {
      assert.equal(podServiceAccountName(pod), sa);
    });
});

describe("gracePeriodFor", () => {
  const withAnnotation = (v: string) => ({
    metadata: { annotations: { "eks.amazonaws.com/service-account-lookup-grace-period": v } },
  });
  const cases: [string, Record<string, unknown>, number | undefined, number][] = [
    ["the flag when the pod says nothing", {}, undefined, 1000],
    ["the flag when metadata is null (JSON null is absent)", { metadata: null }, undefined, 1000],
    ["the flag when annotations are null", { metadata: { annotations: null } }, undefined, 1000],
    ["the pod's annotation in ms", withAnnotation("250"), undefined, 250],
    ["the pod may disable waiting", withAnnotation("0"), undefined, 0],
    ["an unparseable annotation falls back to the flag", withAnnotation("2s"), undefined, 1000],
    ["a negative annotation waits not at all", withAnnotation("-5"), undefined, 0],
    [
      "capped by kube-apiserver's deadline less the margin",
      withAnnotation("60000"),
      10_000,
      10_000 - DEADLINE_MARGIN_MS,
    ],
    ["no wait when the deadline is nearly spent", {}, 100, 0],
    [
      "a huge annotation is capped at the largest admission timeout (no TimeoutOverflowWarning)",
      withAnnotation("9223372036854775807"),
      undefined,
      MAX_GRACE_PERIOD_MS,
    ],
    [
      "capped at the largest admission timeout even with a longer budget",
      withAnnotation("45000"),
      60_000,
      30_000,
    ],
  ];
  for (const [name, pod, budget, expected] of cases) {
    it(name, () => {
      assert.equal(gracePeriodFor(pod, "eks.amazonaws.com", 1000, budget), expected);
    });
  }
});

function request(spec: Record<string, unknown>, annotations: Record<string, string> = {}): PodCreateRequest {
  return podCreateRequest({ object: { metadata: { name: "p", annotations }, spec } });
}

describe("podAdmitter", () => {
  const config = webhookConfig({ jitter: () => 0 });
  const spec = { serviceAccountName: "app", containers: [{ name: "main", image: "busybox" }] };
  const arn = "arn:aws:iam::111122223333:role/app";

  it("mutates for an account with a role ARN", async () => {
    const cache = fakeLookup({
      "team-a/app": { annotations: { "eks.amazonaws.com/role-arn": arn }, via: "cache" },
    });
    const d = await podAdmitter({ config, cache, gracePeriodMs: 1000 })(request(spec));
    assert.ok(d.patch.length > 0);
    assert.equal(d.reason, "web-identity");
    assert.equal(d.lookup, "cache");
    assert.deepEqual(d.warnings, []);
    assert.deepEqual(cache.asked, [["team-a/app", 1000]]);
  });

  it("leaves a pod whose account has no role unchanged, without a warning", async () => {
    const cache = fakeLookup({ "team-a/app": { annotations: {}, via: "cache" } });
    const d = await podAdmitter({ config, cache, gracePeriodMs: 1000 })(request(spec));
    assert.deepEqual(d.patch, []);
    assert.match(d.reason, /no eks\.amazonaws\.com\/role-arn annotation/);
    assert.deepEqual(d.warnings, []);
  });

  it("warns when the account was not found within the grace period", async () => {
    const d = await podAdmitter({ config, cache: fakeLookup({}), gracePeriodMs: 1000 })(request(spec));
    assert.deepEqual(d.patch, []);
    assert.equal(
      d.warnings?.[0],
      "irsa webhook: service account team-a/app not found within 1000 ms; pod not mutated",
    );
    assert.equal(d.reason, "service account not found within 1000 ms");
  });

  it("passes the pod's grace annotation and the deadline to the lookup", async () => {
    const cache = fakeLookup({});
    const admit = podAdmitter({ config, cache, gracePeriodMs: 1000 });
    await admit(request(spec, { "eks.amazonaws.com/service-account-lookup-grace-period": "3000" }), 2000);
    assert.deepEqual(cache.asked, [["team-a/app", 2000 - DEADLINE_MARGIN_MS]]);
  });

  it("warns about a role ARN that does not look like one, and still mutates", async () => {
    const cache = fakeLookup({
      "team-a/app": { annotations: { "eks.amazonaws.com/role-arn": "my-role" }, via: "get" },
    });
    const d = await podAdmitter({ config, cache, gracePeriodMs: 1000 })(request(spec));
    assert.ok(d.patch.length > 0);
    assert.match(d.warnings?.[0] ?? "", /is not of the form arn:/);
  });

  it("does not wait for an account listed for container credentials", async () => {
    const cache = fakeLookup({});
    const admit = podAdmitter({
      config,
      cache,
      gracePeriodMs: 1000,
      containerCredentials: () => new Set(["team-a/app"]),
    });
    const d = await admit(request(spec));
    assert.deepEqual(cache.asked, [["team-a/app", 0]]);
    assert.ok(d.patch.length > 0);
    assert.equal(d.fields?.mode, "container-credentials");
  });

  for (const [what, annotations] of [
    ["no role", {}],
    ["a role ARN", { "eks.amazonaws.com/role-arn": arn }],
  ] as const) {
    it(`the container-credentials list wins for an account already cached with ${what}`, async () => {
      const cache = fakeLookup({ "team-a/app": { annotations, via: "cache" } });
      const admit = podAdmitter({
        config,
        cache,
        gracePeriodMs: 1000,
        containerCredentials: () => new Set(["team-a/app"]),
      });
      const d = await admit(request(spec));
      assert.equal(d.fields?.mode, "container-credentials");
      assert.equal(d.reason, "container-credentials");
      assert.deepEqual(cache.asked, [["team-a/app", 0]]);
      const pod = structuredClone({ metadata: { name: "p" }, spec });
      applyAddOperations(pod, d.patch as PatchOperation[]);
      const env = (pod.spec.containers[0] as { env?: { name: string; value?: string }[] }).env ?? [];
      assert.ok(
        env.some((e) => e.name === "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        "the EKS Pod Identity variables are injected",
      );
      assert.ok(!env.some((e) => e.name === "AWS_ROLE_ARN"), "no web-identity variables");
    });
  }

  for (const via of ["out-of-scope", "no-wait"] as const) {
    it(`says why an account it did not wait for was not used (${via}), without a warning`, async () => {
      const cache = fakeLookup({ "team-a/app": { annotations: undefined, via } });
      const d = await podAdmitter({ config, cache, gracePeriodMs: 1000 })(request(spec));
      assert.deepEqual(d.patch, []);
      assert.equal(d.reason, `service account not in the cache (${via})`);
      assert.deepEqual(d.warnings, []);
      assert.equal(d.lookup, via);
    });
  }

  it("logs the account, mode, lookup and wait of each decision", async () => {
    const cache = fakeLookup({
      "team-a/app": { annotations: { "eks.amazonaws.com/role-arn": arn }, via: "watch" },
    });
    const d = await podAdmitter({ config, cache, gracePeriodMs: 700 })(request(spec));
    assert.deepEqual(d.fields, {
      serviceAccount: "app",
      mode: "web-identity",
      lookup: "watch",
      graceMs: 700,
    });
  });

  it("refuses to patch a pod whose own aws-iam-token volume is something else, with a warning", async () => {
    const cache = fakeLookup({
      "team-a/app": { annotations: { "eks.amazonaws.com/role-arn": arn }, via: "cache" },
    });
    const foreign = { ...spec, volumes: [{ name: "aws-iam-token", emptyDir: {} }] };
    const d = await podAdmitter({ config, cache, gracePeriodMs: 1000 })(request(foreign));
    assert.deepEqual(d.patch, []);
    assert.match(d.reason, /^web-identity: the pod's own volume "aws-iam-token" is not a projected/);
    assert.equal(d.warnings?.length, 1);
    assert.match(
      d.warnings[0] ?? "",
      /^irsa webhook: the pod's own volume "aws-iam-token" .*rename that volume/,
    );
  });

  it("an empty patch for a pod that already has everything", async () => {
    const cache = fakeLookup({
      "team-a/app": { annotations: { "eks.amazonaws.com/role-arn": arn }, via: "cache" },
    });
    const admit = podAdmitter({ config, cache, gracePeriodMs: 1000 });
    const first = await admit(request(spec));
    const pod = structuredClone({ metadata: { name: "p" }, spec });
    applyAddOperations(pod, first.patch as PatchOperation[]);
    const again = await admit(request(pod.spec));
    assert.deepEqual(again.patch, []);
    assert.equal(again.reason, "web-identity: pod already has everything");
  });

  it("throws (for the server to admit unchanged) on a pod the core cannot read", async () => {
    const cache = fakeLookup({
      "team-a/app": { annotations: { "eks.amazonaws.com/role-arn": arn }, via: "cache" },
    });
    const admit = podAdmitter({ config, cache, gracePeriodMs: 1000 });
    await assert.rejects(
      admit(request({ serviceAccountName: "app", containers: [{ image: "x" }] })),
      /POD_INVALID|invalid pod/,
    );
  });
});
