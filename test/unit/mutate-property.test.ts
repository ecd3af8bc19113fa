/**
 * Properties of the pod mutation over random pods: containers with fields the mutation does not
 * know (probes of every kind, native sidecars, resources, future fields), random env, mounts and
 * volumes. The patch keeps everything it does not own, is targeted, and a second pass is empty.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import jsonpatch, { type Operation } from "fast-json-patch";
import { IrsaError } from "../../src/core/errors.js";
import {
  containerCredentialsSettings,
  mutatePod,
  webhookConfig,
  type MutationResult,
  type ServiceAccountSettings,
  type WebhookConfig,
} from "../../src/core/mutate/index.js";

type Json = Record<string, unknown>;

const ARN = "arn:aws:iam::111122223333:role/s3-reader";
const LABEL = "eks.amazonaws.com/pod-identity";
const IRSA_MOUNT = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
const CC_MOUNT = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount";
const AWS_ENV = [
  "AWS_ROLE_ARN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_STS_REGIONAL_ENDPOINTS",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/);

const envEntry = fc.record(
  {
    name: fc.oneof(
      fc.constantFrom(...AWS_ENV),
      name.map((s) => s.toUpperCase().replace(/-/g, "_")),
    ),
    value: fc.string(),
    valueFrom: fc.record({
      fieldRef: fc.record({ fieldPath: fc.constantFrom("metadata.name", "spec.nodeName") }),
    }),
  },
  { requiredKeys: ["name"] },
);

const volumeMount = fc.record(
  {
    name: fc.oneof(fc.constantFrom("aws-iam-token", "eks-pod-identity-token"), name),
    mountPath: fc.oneof(fc.constantFrom(IRSA_MOUNT, CC_MOUNT), fc.stringMatching(/^\/[a-z]{1,6}$/)),
    readOnly: fc.boolean(),
    subPath: fc.string(),
    recursiveReadOnly: fc.constantFrom("Disabled", "IfPossible", "Enabled"),
  },
  { requiredKeys: ["name", "mountPath"] },
);

const port = fc.integer({ min: 1, max: 65535 });
const probe = fc.oneof(
  fc.record({
    grpc: fc.record({ port, service: fc.string() }, { requiredKeys: ["port"] }),
    failureThreshold: fc.nat(),
  }),
  fc.record({ httpGet: fc.record({ path: fc.constant("/healthz"), port }), periodSeconds: fc.nat() }),
  fc.record({ exec: fc.record({ command: fc.array(fc.string(), { maxLength: 3 }) }) }),
  fc.record({ tcpSocket: fc.record({ port }) }),
);

const container = fc.record(
  {
    name,
    image: fc.string(),
    env: fc.oneof(fc.constant(null), fc.array(envEntry, { maxLength: 5 })),
    envFrom: fc.array(fc.record({ configMapRef: fc.record({ name }) }), { maxLength: 2 }),
    volumeMounts: fc.oneof(fc.constant(null), fc.array(volumeMount, { maxLength: 3 })),
    startupProbe: probe,
    livenessProbe: probe,
    readinessProbe: probe,
    restartPolicy: fc.constant("Always"),
    resources: fc.record({ limits: fc.dictionary(fc.constantFrom("cpu", "memory"), fc.string()) }),
    resizePolicy: fc.array(
      fc.record({ resourceName: fc.constant("cpu"), restartPolicy: fc.constant("NotRequired") }),
    ),
    securityContext: fc.record({
      runAsNonRoot: fc.boolean(),
      seccompProfile: fc.record({ type: fc.constant("RuntimeDefault") }),
    }),
    futureField: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ["name"] },
);

const containers = (min: number) =>
  fc.uniqueArray(container, { selector: (c) => c.name, minLength: min, maxLength: 4 });

const volume = fc.oneof(
  fc.record({ name, emptyDir: fc.record({ medium: fc.constant("Memory") }, { requiredKeys: [] }) }),
  fc.record({
    name: fc.constantFrom("aws-iam-token", "eks-pod-identity-token"),
    hostPath: fc.record({ path: fc.string() }),
  }),
  fc.record({ name, configMap: fc.record({ name }) }),
);

/** A pod as decoded from JSON (plain objects, as kube-apiserver's request body gives it). */
const podArb = fc
  .record(
    {
      apiVersion: fc.constant("v1"),
      kind: fc.constant("Pod"),
      metadata: fc.record(
        {
          name,
          namespace: name,
          uid: fc.uuid(),
          labels: fc.oneof(
            fc.constant(null),
            fc.dictionary(fc.oneof(name, fc.constant("app.kubernetes.io/name")), fc.string(), { maxKeys: 3 }),
            fc.constant({ [LABEL]: "enabled" }),
            fc.constant({ [LABEL]: "other", "a~b/c": "x" }),
          ),
          annotations: fc.record(
            {
              "eks.amazonaws.com/token-expiration": fc.oneof(
                fc.integer({ min: -10, max: 200000 }).map(String),
                fc.string(),
              ),
              "eks.amazonaws.com/skip-containers": fc.oneof(
                name,
                fc.array(name, { maxLength: 3 }).map((a) => a.join(",")),
                fc.string(),
              ),
              "example.com/other": fc.string(),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: ["name"] },
      ),
      spec: fc.record(
        {
          containers: containers(1),
          initContainers: containers(0),
          volumes: fc.oneof(
            fc.constant(null),
            fc.uniqueArray(volume, { selector: (v) => v.name, maxLength: 3 }),
          ),
          nodeSelector: fc.dictionary(
            fc.constantFrom("kubernetes.io/os", "beta.kubernetes.io/os", "kubernetes.io/arch"),
            fc.constantFrom("linux", "windows", "amd64"),
          ),
          serviceAccountName: fc.constant("default"),
          restartPolicy: fc.constantFrom("Always", "OnFailure", "Never"),
          hostAliases: fc.array(fc.record({ ip: fc.ipV4(), hostnames: fc.array(name, { maxLength: 2 }) }), {
            maxLength: 2,
          }),
          futureSpecField: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: ["containers"] },
      ),
      status: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ["apiVersion", "kind", "metadata", "spec"] },
  )
  .map((p) => JSON.parse(JSON.stringify(p)) as Json);

const setupArb = fc
  .record({
    roleArn: fc.constantFrom("", ARN),
    audience: fc.constantFrom("sts.amazonaws.com", "custom"),
    useRegionalSts: fc.boolean(),
    tokenExpiration: fc.oneof(fc.constant(86400), fc.integer({ min: 600, max: 200000 })),
    containerCredentials: fc.boolean(),
    region: fc.constantFrom("", "eu-west-1"),
    jitter: fc.nat({ max: 7200 }),
  })
  .map((s) => {
    const config = webhookConfig({ awsDefaultRegion: s.region, jitter: () => s.jitter });
    const settings: ServiceAccountSettings = {
      roleArn: s.roleArn,
      audience: s.audience,
      useRegionalSts: s.useRegionalSts,
      tokenExpiration: s.tokenExpiration,
      ...(s.containerCredentials && { containerCredentials: containerCredentialsSettings(config) }),
    };
    return { settings, config };
  });

const OWNED_CONTAINER_FIELDS = new Set(["env", "volumeMounts"]);

function list(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

function assertKeptExcept(out: Json, input: Json, owned: ReadonlySet<string>, where: string): void {
  const keys = new Set([...Object.keys(out), ...Object.keys(input)]);
  for (const k of keys) {
    if (owned.has(k)) continue;
    assert.deepEqual(out[k], input[k], `${where}.${k} is kept`);
  }
}

/** Everything the mutation does not own is as it was; what it owns only grew at the end (or front). */
function assertPreserved(input: Json, r: MutationResult): void {
  const out = r.pod;
  assertKeptExcept(out, input, new Set(["metadata", "spec"]), "(root)");
  const inMeta = (input.metadata ?? {}) as Json;
  const outMeta = (out.metadata ?? {}) as Json;
  assertKeptExcept(outMeta, inMeta, new Set(["labels"]), "metadata");
  const inLabels = (inMeta.labels ?? {}) as Json;
  const outLabels = (outMeta.labels ?? {}) as Json;
  for (const k of Object.keys(inLabels))
    if (k !== LABEL) assert.equal(outLabels[k], inLabels[k], `label ${k}`);
  if (r.mode !== "container-credentials") assert.deepEqual(outMeta.labels, inMeta.labels);

  const inSpec = input.spec as Json;
  const outSpec = out.spec as Json;
  assertKeptExcept(outSpec, inSpec, new Set(["volumes", "containers", "initContainers"]), "spec");
  const inVols = list(inSpec.volumes);
  const outVols = list(outSpec.volumes);
  assert.deepEqual(outVols.slice(outVols.length - inVols.length), inVols, "volumes are kept, in order");
  assert.ok(outVols.length - inVols.length <= 1);
  if (inSpec.volumes === null && outVols.length === 0) assert.equal(outSpec.volumes, null);

  for (const key of ["containers", "initContainers"]) {
    const ins = list(inSpec[key]);
    const outs = list(outSpec[key]);
    assert.equal(outs.length, ins.length, `${key}: same count`);
    ins.forEach((c, i) => {
      const o = outs[i] ?? {};
      const where = `spec.${key}[${i}]`;
      assertKeptExcept(o, c, OWNED_CONTAINER_FIELDS, where);
      for (const f of OWNED_CONTAINER_FIELDS) {
        const before = list(c[f]);
        const after = list(o[f]);
        assert.deepEqual(after.slice(0, before.length), before, `${where}.${f}: existing entries kept`);
        if (after.length === before.length) assert.deepEqual(o[f], c[f]);
      }
      const added = list(o.env).slice(list(c.env).length);
      const had = new Set(list(c.env).map((e) => e.name));
      for (const e of added) {
        assert.ok(AWS_ENV.includes(String(e.name)) && !had.has(e.name), `${where}: added ${String(e.name)}`);
      }
      if (r.plan?.skipContainers.has(String(c.name)) === true) assert.deepEqual(o, c, `${where} skipped`);
    });
  }
}

function assertMutatedFully(r: MutationResult): void {
  const plan = r.plan;
  if (plan === undefined) return;
  if (r.conflict !== undefined) {
    assert.deepEqual(r.patch, [], "a pod whose own volume has the token volume's name is left unchanged");
    return;
  }
  const spec = r.pod.spec as Json;
  assert.ok(
    list(spec.volumes).some((v) => v.name === plan.volumeName),
    "the token volume is there",
  );
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    if (plan.skipContainers.has(String(c.name))) continue;
    const names = new Set(list(c.env).map((e) => e.name));
    // Upstream's rule: a container that configures its own credentials is left alone.
    const own =
      plan.credentialEnv.some((e) => names.has(e.name)) &&
      (names.has("AWS_REGION") || names.has("AWS_DEFAULT_REGION")) &&
      names.has("AWS_STS_REGIONAL_ENDPOINTS");
    if (own) continue;
    assert.ok(
      plan.credentialEnv.some((e) => names.has(e.name)),
      "a credential var",
    );
    assert.ok(
      list(c.volumeMounts).some((m) => m.name === plan.volumeName || m.mountPath === plan.mountPath),
      "a mount of the token volume (or of the path)",
    );
  }
  if (plan.mode === "container-credentials") {
    assert.equal(((r.pod.metadata as Json).labels as Json)[LABEL], "enabled");
  }
}

const WHOLE = /^\/spec\/(containers|initContainers)(\/([0-9]+|-))?$/;

describe("mutation properties", () => {
  it("keeps every field it does not own, is targeted and applies as RFC 6902", () => {
    fc.assert(
      fc.property(podArb, setupArb, (pod, { settings, config }) => {
        const input = structuredClone(pod);
        const r = mutatePod(pod, settings, config);
        assert.deepEqual(pod, input, "the input is not modified");
        for (const op of r.patch) {
          assert.equal(op.op, "add");
          assert.doesNotMatch(op.path, WHOLE);
        }
        const applied = jsonpatch.applyPatch(
          structuredClone(input),
          r.patch as Operation[],
          true,
          true,
        ).newDocument;
        assert.deepEqual(r.pod, applied, "the returned pod is the input with the patch applied");
        assertPreserved(input, r);
        assertMutatedFully(r);
        assert.equal(
          r.mode === "none",
          settings.roleArn === "" && settings.containerCredentials === undefined,
        );
      }),
      { numRuns: 300 },
    );
  });

  it("is idempotent: mutating the result again gives an empty patch", () => {
    fc.assert(
      fc.property(podArb, setupArb, (pod, { settings, config }) => {
        const once = mutatePod(pod, settings, config);
        const twice = mutatePod(once.pod, settings, config);
        assert.deepEqual(twice.patch, []);
        assert.deepEqual(twice.pod, once.pod);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses every value that is not a pod with POD_INVALID, and patches every other one consistently", () => {
    const config: WebhookConfig = webhookConfig({ jitter: () => 0 });
    const settings: ServiceAccountSettings = {
      roleArn: ARN,
      audience: "sts.amazonaws.com",
      useRegionalSts: true,
      tokenExpiration: 86400,
    };
    const broken = fc.oneof(
      fc.anything(),
      fc.jsonValue(),
      podArb.chain((p) =>
        fc
          .record({ path: fc.constantFrom("spec", "metadata", "containers", "env"), junk: fc.anything() })
          .map(({ path, junk }) => {
            const copy = structuredClone(p);
            const spec = copy.spec as Json;
            const first = list(spec.containers)[0] ?? {};
            if (path === "spec") copy.spec = junk;
            else if (path === "metadata") copy.metadata = junk;
            else if (path === "containers") spec.containers = junk;
            else first.env = [junk];
            return copy;
          }),
      ),
    );
    const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
    // Broken beyond doubt: not an object, no spec object, containers that are not a list, another kind.
    // (A JSON null counts as absent, as in Kubernetes.)
    const given = (v: unknown): boolean => v !== undefined && v !== null;
    const surelyInvalid = (v: unknown): boolean =>
      !isObject(v) ||
      !isObject(v.spec) ||
      (given(v.spec.containers) && !Array.isArray(v.spec.containers)) ||
      (given(v.kind) && v.kind !== "Pod");
    const seen = { refused: 0, patched: 0 };
    fc.assert(
      fc.property(broken, (value) => {
        const before = structuredClone(value);
        let result: MutationResult;
        try {
          result = mutatePod(value, settings, config);
        } catch (e) {
          assert.ok(e instanceof IrsaError, `an IrsaError, got ${String(e)}`);
          assert.equal(e.code, "POD_INVALID");
          assert.match(e.message, /^invalid pod: \S+: /, "the message names the bad field");
          seen.refused++;
          return;
        }
        assert.ok(!surelyInvalid(value), `accepted a value that is not a pod: ${JSON.stringify(value)}`);
        assert.deepEqual(value, before, "the input is not modified");
        const applied = jsonpatch.applyPatch(structuredClone(value), result.patch as Operation[], true, true);
        assert.deepEqual(applied.newDocument, result.pod, "the patch yields the returned pod");
        seen.patched++;
      }),
      { numRuns: 500 },
    );
    assert.ok(seen.refused > 50 && seen.patched > 5, `both outcomes occur: ${JSON.stringify(seen)}`);
  });
});
