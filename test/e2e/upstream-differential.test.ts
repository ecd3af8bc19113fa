/**
 * Differential test: upstream's webhook (aws/amazon-eks-pod-identity-webhook at the pinned commit,
 * built by test/peers/build-upstream-webhook.sh) and `irsa webhook` side by side, watching the same
 * ServiceAccounts in one real kube-apiserver with the same mutation flags. Both get the same
 * AdmissionReviews over HTTPS (POST /mutate) for upstream's own test pods and for generated pods;
 * each answer's JSON Patch is applied to the pod, Go's serialiser is normalised away, and the two
 * resulting pods must be equal, except where an entry of upstream-divergences.ts (the one list of
 * deliberate divergences, docs/webhook-parity.md) explains the difference.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { Agent, request as httpsRequest } from "node:https";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import jsonpatch, { type Operation } from "fast-json-patch";
import { parse } from "yaml";
import {
  createNamespace,
  createServiceAccount,
  REPO_ROOT,
  startIrsaWebhook,
  startKube,
  startUpstreamWebhook,
  stopAll,
  waitUntil,
  type Kube,
} from "./harness/index.js";
import { DIVERGENCES, type DivergenceInput, type DiffLocation } from "./upstream-divergences.js";

type Json = Record<string, unknown>;

const PREFIX = "eks.amazonaws.com";
const WI_MOUNT = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
const CC_MOUNT = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount";
const CC_VOLUME = "eks-pod-identity-token";
const CC_AUDIENCE = "pods.eks.amazonaws.com";
const REGION = "eu-west-1";
const GENERATED = 2000;
const SEED = Number(process.env.IRSA_DIFF_SEED ?? 20260811);
const arn = (name: string): string => `arn:aws:iam::111122223333:role/${name}`;

/** The same mutation flags for both webhooks. */
const MUTATION_FLAGS = [`--aws-default-region=${REGION}`, "--service-account-lookup-grace-period=0"];

interface Account {
  readonly name: string;
  readonly annotations: Record<string, string>;
  /** Listed in the container-credentials config file. */
  readonly containerCredentials?: boolean;
}

const ACCOUNTS: readonly Account[] = [
  { name: "plain", annotations: { [`${PREFIX}/role-arn`]: arn("plain") } },
  { name: "audience", annotations: { [`${PREFIX}/role-arn`]: arn("aud"), [`${PREFIX}/audience`]: "custom" } },
  {
    name: "regional",
    annotations: { [`${PREFIX}/role-arn`]: arn("regional"), [`${PREFIX}/sts-regional-endpoints`]: "true" },
  },
  {
    name: "expiring",
    annotations: { [`${PREFIX}/role-arn`]: arn("exp"), [`${PREFIX}/token-expiration`]: "3600" },
  },
  {
    name: "mixed",
    annotations: {
      [`${PREFIX}/role-arn`]: arn("mixed"),
      [`${PREFIX}/audience`]: "mixed-aud",
      [`${PREFIX}/sts-regional-endpoints`]: "false",
      [`${PREFIX}/token-expiration`]: "100",
    },
  },
  { name: "noarn", annotations: { [`${PREFIX}/audience`]: "unused" } },
  { name: "cc", annotations: {}, containerCredentials: true },
  {
    name: "cc-arn",
    annotations: {
      [`${PREFIX}/role-arn`]: arn("cc"),
      [`${PREFIX}/sts-regional-endpoints`]: "true",
      [`${PREFIX}/token-expiration`]: "7200",
    },
    containerCredentials: true,
  },
];

/** Accounts a pod may name: the ones above and one that does not exist. */
const ACCOUNT_NAMES = [...ACCOUNTS.map((a) => a.name), "missing"];

function accountInput(pod: Json, accounts: readonly Account[]): DivergenceInput {
  const spec = (pod.spec ?? {}) as Json;
  const a = accounts.find((x) => x.name === spec.serviceAccountName);
  const base = { pod, annotationPrefix: PREFIX };
  if (a?.containerCredentials === true) {
    return {
      ...base,
      mode: "container-credentials",
      volumeName: CC_VOLUME,
      mountPath: CC_MOUNT,
      audience: CC_AUDIENCE,
      tokenPath: CC_VOLUME,
    };
  }
  const roleArn = a?.annotations[`${PREFIX}/role-arn`];
  return {
    ...base,
    mode: roleArn === undefined ? "none" : "web-identity",
    volumeName: "aws-iam-token",
    mountPath: WI_MOUNT,
    audience: a?.annotations[`${PREFIX}/audience`] ?? "sts.amazonaws.com",
    tokenPath: "token",
  };
}

// ---- generated pods ------------------------------------------------------------------------------

const ENV_NAMES = [
  "AWS_ROLE_ARN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_STS_REGIONAL_ENDPOINTS",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "HOME",
];

const MOUNTS = [
  { name: "data", mountPath: "/data" },
  { name: "aws-iam-token", mountPath: "/custom/token/dir" },
  { name: "aws-iam-token", mountPath: WI_MOUNT, readOnly: true },
  { name: "istio-token", mountPath: WI_MOUNT },
  { name: CC_VOLUME, mountPath: CC_MOUNT, readOnly: true },
  { name: "other-token", mountPath: CC_MOUNT },
];

const VOLUMES: Json[] = [
  { name: "data", emptyDir: {} },
  {
    name: "istio-token",
    projected: {
      sources: [
        { serviceAccountToken: { audience: "istio-ca", expirationSeconds: 43200, path: "istio-token" } },
      ],
    },
  },
  {
    name: "aws-iam-token",
    projected: {
      sources: [
        { serviceAccountToken: { audience: "sts.amazonaws.com", expirationSeconds: 86400, path: "token" } },
      ],
    },
  },
  { name: "aws-iam-token", hostPath: { path: "/var/lib/token" } },
  {
    name: CC_VOLUME,
    projected: {
      sources: [
        { serviceAccountToken: { audience: CC_AUDIENCE, expirationSeconds: 80000, path: CC_VOLUME } },
      ],
    },
  },
];

const CONTAINER_NAMES = ["app", "sidecar", "init", "agent", "istio-proxy", "db"];

const SKIP_VALUES = [
  "app",
  "app,sidecar",
  "app, sidecar",
  '"app"',
  "sidecar\napp",
  "nonexistent",
  "init,agent,db",
  "",
];
const EXPIRATION_VALUES = [
  "3600",
  "100",
  "86400",
  "+7200",
  " 600",
  "-5",
  "abc",
  "4294967296",
  "4294967297",
  "99999999999",
];

const containerArb = (name: string) =>
  fc
    .record(
      {
        image: fc.constantFrom("busybox", "amazonlinux"),
        env: fc
          .subarray(ENV_NAMES)
          .map((names) => names.map((n) => ({ name: n, value: `mine-${n.length}` }))),
        volumeMounts: fc.subarray(MOUNTS),
        restartPolicy: fc.constant("Always"),
      },
      { requiredKeys: ["image"] },
    )
    .map((c) => ({ name, ...c }));

const podArb: fc.Arbitrary<Json> = fc
  .record({
    names: fc.shuffledSubarray(CONTAINER_NAMES, { minLength: 1, maxLength: 5 }),
    initCount: fc.nat({ max: 2 }),
    serviceAccountName: fc.constantFrom(...ACCOUNT_NAMES),
    volumes: fc.oneof(
      fc.constant(undefined),
      fc.constant([]),
      fc.uniqueArray(fc.constantFrom(...VOLUMES), { selector: (v) => v.name, maxLength: 3 }),
    ),
    nodeSelector: fc.option(
      fc.dictionary(
        fc.constantFrom("kubernetes.io/os", "beta.kubernetes.io/os"),
        fc.constantFrom("linux", "windows"),
        {
          minKeys: 1,
        },
      ),
      { nil: undefined },
    ),
    skip: fc.option(fc.constantFrom(...SKIP_VALUES), { nil: undefined }),
    expiration: fc.option(fc.constantFrom(...EXPIRATION_VALUES), { nil: undefined }),
    labels: fc.option(
      fc.constantFrom<Record<string, string>>(
        { app: "web" },
        { "eks.amazonaws.com/pod-identity": "enabled" },
      ),
      { nil: undefined },
    ),
  })
  .chain((p) => {
    const initCount = Math.min(p.initCount, p.names.length - 1);
    const initNames = p.names.slice(0, initCount);
    const names = p.names.slice(initCount);
    return fc
      .record({
        containers: fc.tuple(...names.map((n) => containerArb(n))),
        initContainers:
          initNames.length === 0 ? fc.constant([]) : fc.tuple(...initNames.map((n) => containerArb(n))),
      })
      .map(({ containers, initContainers }) => {
        const annotations: Record<string, string> = {};
        if (p.skip !== undefined) annotations[`${PREFIX}/skip-containers`] = p.skip;
        if (p.expiration !== undefined) annotations[`${PREFIX}/token-expiration`] = p.expiration;
        // Only init containers may have restartPolicy (native sidecars).
        const plain = containers.map((c) => {
          const copy: Json = { ...c };
          delete copy.restartPolicy;
          return copy;
        });
        const spec: Json = { serviceAccountName: p.serviceAccountName, containers: plain };
        if (initContainers.length > 0) spec.initContainers = initContainers;
        if (p.volumes !== undefined) spec.volumes = p.volumes;
        if (p.nodeSelector !== undefined) spec.nodeSelector = p.nodeSelector;
        const metadata: Json = { name: "generated" };
        if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
        if (p.labels !== undefined) metadata.labels = p.labels;
        return JSON.parse(JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata, spec })) as Json;
      });
  });

// ---- upstream's fixtures -------------------------------------------------------------------------

interface Fixture {
  readonly file: string;
  readonly pod: Json;
  readonly account: Account;
}

/** Upstream's test pods, each given its own ServiceAccount with the settings its annotations name. */
function loadFixtures(): Fixture[] {
  const dir = join(REPO_ROOT, "test/fixtures/upstream-webhook");
  const files = [
    ...readdirSync(dir).map((f) => join(dir, f)),
    ...readdirSync(join(dir, "containercredentials")).map((f) => join(dir, "containercredentials", f)),
  ].filter((f) => f.endsWith(".pod.yaml"));
  return files.map((file, i) => {
    const pod = parse(readFileSync(file, "utf8"), { uniqueKeys: false }) as Json;
    const meta = (pod.metadata ?? {}) as Json;
    const notes = (meta.annotations ?? {}) as Record<string, string>;
    const t = (k: string): string | undefined => notes[`testing.eks.amazonaws.com/${k}`];
    const annotations: Record<string, string> = {};
    const set = (key: string, v: string | undefined): void => {
      if (v !== undefined) annotations[`${PREFIX}/${key}`] = v;
    };
    set("role-arn", t("serviceAccount/roleArn"));
    set("audience", t("serviceAccount/audience"));
    set("sts-regional-endpoints", t("serviceAccount/sts-regional-endpoints") ?? t("handler/injectSTS"));
    set("token-expiration", t("serviceAccount/token-expiration"));
    const name = `fixture-${i}`;
    const account: Account = {
      name,
      annotations,
      containerCredentials: file.includes("/containercredentials/"),
    };
    ((pod.spec ?? {}) as Json).serviceAccountName = name;
    return { file: file.slice(dir.length + 1), pod, account };
  });
}

// ---- exchanging reviews --------------------------------------------------------------------------

function review(pod: Json, namespace: string): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: randomUUID(),
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      requestResource: { group: "", version: "v1", resource: "pods" },
      name: (pod.metadata as Json | undefined)?.name,
      namespace,
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller" },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  });
}

interface Answer {
  readonly status: number;
  readonly allowed: unknown;
  readonly patch: Operation[];
  readonly raw: string;
}

function post(port: number, ca: string, agent: Agent, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/mutate?timeout=10s",
        method: "POST",
        ca,
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const raw = Buffer.concat(chunks).toString("utf8");
          try {
            const r = ((JSON.parse(raw) as Json).response ?? {}) as Json;
            const patch =
              typeof r.patch === "string"
                ? (JSON.parse(Buffer.from(r.patch, "base64").toString("utf8")) as Operation[])
                : [];
            resolve({ status: res.statusCode ?? 0, allowed: r.allowed, patch, raw });
          } catch (e) {
            reject(
              new Error(`unreadable answer (${res.statusCode ?? 0}): ${raw.slice(0, 500)}: ${String(e)}`),
            );
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("POST /mutate timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/** Runs `fn` over `items`, `width` at a time, keeping the order of the results. */
async function pool<T, R>(items: readonly T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

// ---- comparing -----------------------------------------------------------------------------------

/**
 * What Go's serialiser does to upstream's re-encoded containers, done to both sides: null, empty
 * strings, empty objects (`resources: {}`) and empty lists are dropped. The container-credentials
 * default lifetime is randomised by both into [79200, 86400]: any value there reads "jittered".
 */
function normalise(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) {
    const items = v.map((x) => normalise(x)).filter((x) => x !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (typeof v === "object" && v !== null) {
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normalise(x, k);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (v === null || v === "") return undefined;
  if (key === "expirationSeconds" && typeof v === "number" && v >= 79200 && v <= 86400) return "jittered";
  return v;
}

function apply(pod: Json, patch: Operation[]): Json {
  const doc = structuredClone(pod);
  return jsonpatch.applyPatch(doc, patch, false, true).newDocument;
}

/** The places where two pods differ: metadata, each spec field, each container by index. */
function differences(a: Json, b: Json): DiffLocation[] {
  const out: DiffLocation[] = [];
  const keys = (x: Json, y: Json): string[] => [...new Set([...Object.keys(x), ...Object.keys(y)])];
  for (const k of keys(a, b)) {
    if (k !== "spec") {
      if (!isDeepStrictEqual(a[k], b[k])) out.push(k);
      continue;
    }
    const sa = (a.spec ?? {}) as Json;
    const sb = (b.spec ?? {}) as Json;
    for (const s of keys(sa, sb)) {
      if (s === "containers" || s === "initContainers") {
        const ca = Array.isArray(sa[s]) ? (sa[s] as unknown[]) : [];
        const cb = Array.isArray(sb[s]) ? (sb[s] as unknown[]) : [];
        for (let i = 0; i < Math.max(ca.length, cb.length); i++) {
          if (!isDeepStrictEqual(ca[i], cb[i])) out.push(`spec.${s}[${i}]`);
        }
      } else if (!isDeepStrictEqual(sa[s], sb[s])) {
        out.push(`spec.${s}`);
      }
    }
  }
  return out;
}

interface Case {
  readonly label: string;
  readonly pod: Json;
  readonly accounts: readonly Account[];
}

interface Outcome {
  compared: number;
  mutated: number;
  identical: number;
  byDivergence: Map<string, number>;
  unexplained: number;
  /** The first few failures, each with the pod and both answers. */
  failures: string[];
}

async function compare(
  cases: readonly Case[],
  namespace: string,
  send: (body: string) => Promise<[Answer, Answer]>,
): Promise<Outcome> {
  const outcome: Outcome = {
    compared: 0,
    mutated: 0,
    identical: 0,
    byDivergence: new Map(),
    unexplained: 0,
    failures: [],
  };
  const answers = await pool(cases, 16, (c) => send(review(c.pod, namespace)));
  cases.forEach((c, i) => {
    const [ours, theirs] = answers[i] as [Answer, Answer];
    outcome.compared++;
    const show = (why: string, extra = ""): void => {
      outcome.unexplained++;
      if (outcome.failures.length >= 5) return;
      outcome.failures.push(
        `${c.label}: ${why}${extra}\n  pod: ${JSON.stringify(c.pod)}\n  irsa webhook: ${ours.raw}\n  upstream: ${theirs.raw}`,
      );
    };
    if (ours.status !== 200 || theirs.status !== 200 || ours.allowed !== true || theirs.allowed !== true) {
      show(
        `status ${ours.status}/${theirs.status}, allowed ${String(ours.allowed)}/${String(theirs.allowed)}`,
      );
      return;
    }
    const oursPod = normalise(apply(c.pod, ours.patch)) as Json;
    const theirsPod = normalise(apply(c.pod, theirs.patch)) as Json;
    if (!isDeepStrictEqual(theirsPod, normalise(c.pod))) outcome.mutated++;
    const diffs = differences(oursPod, theirsPod);
    if (diffs.length === 0) {
      outcome.identical++;
      return;
    }
    const input = accountInput(c.pod, c.accounts);
    const unexplained: string[] = [];
    for (const where of diffs) {
      const d = DIVERGENCES.find((x) => x.explains(where, input));
      if (d === undefined) unexplained.push(where);
      else outcome.byDivergence.set(d.id, (outcome.byDivergence.get(d.id) ?? 0) + 1);
    }
    if (unexplained.length > 0) {
      show(
        `differs at ${unexplained.join(", ")}, explained by no entry of upstream-divergences.ts`,
        `\n  irsa webhook's pod: ${JSON.stringify(oursPod)}\n  upstream's pod:     ${JSON.stringify(theirsPod)}`,
      );
    }
  });
  return outcome;
}

function report(what: string, o: Outcome): void {
  const by = [...o.byDivergence].map(([id, n]) => `${id} ${n}`).join(", ") || "none";
  process.stdout.write(
    `differential ${what}: ${o.compared} pods compared, ${o.mutated} mutated by upstream, ${o.identical} identical, ` +
      `differences by deliberate divergence: ${by}, unexplained: ${o.unexplained}\n`,
  );
}

describe("differential: irsa webhook against upstream's webhook binary", { timeout: 600_000 }, () => {
  let kube: Kube;
  let namespace: string;
  let send: (body: string) => Promise<[Answer, Answer]>;
  const fixtures = loadFixtures();
  const accounts = [...ACCOUNTS, ...fixtures.map((f) => f.account)];

  before(async () => {
    kube = await startKube();
    namespace = await createNamespace(kube.kubeConfig);
    for (const a of accounts) {
      await createServiceAccount(kube.kubeConfig, namespace, a.name, a.annotations);
    }
    const ccFile = join(kube.dir, "container-credentials.json");
    const identities = accounts
      .filter((a) => a.containerCredentials === true)
      .map((a) => ({ namespace, serviceAccount: a.name }));
    await writeFile(ccFile, JSON.stringify({ identities }));
    const flags = [...MUTATION_FLAGS, `--watch-container-credentials-config=${ccFile}`];
    const [ours, theirs] = await Promise.all([
      startIrsaWebhook(kube, { name: "irsa-webhook-diff", extraArgs: flags }),
      startUpstreamWebhook(kube, { name: "upstream-webhook", extraArgs: flags }),
    ]);
    const ca = kube.ca.certPem;
    const agents = [
      new Agent({ keepAlive: true, maxSockets: 8 }),
      new Agent({ keepAlive: true, maxSockets: 8 }),
    ];
    after(() => {
      for (const a of agents) a.destroy();
    });
    send = (body) =>
      Promise.all([
        post(ours.port, ca, agents[0] as Agent, body),
        post(theirs.port, ca, agents[1] as Agent, body),
      ]);
    // Upstream has no readiness endpoint: wait until its informer has every account.
    const probe = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "probe" },
      spec: { containers: [{ name: "a" }] },
    };
    for (const a of accounts.filter(
      (x) => x.annotations[`${PREFIX}/role-arn`] !== undefined && !x.containerCredentials,
    )) {
      const pod = { ...probe, spec: { ...probe.spec, serviceAccountName: a.name } };
      await waitUntil(
        `upstream's webhook has ServiceAccount ${a.name}`,
        async () => (await send(review(pod, namespace)))[1].patch.length > 0,
        { proc: theirs.proc, timeoutMs: 30_000 },
      );
    }
  });
  after(stopAll);

  it("upstream's own test pods: the same resulting pods, but for the documented divergences", async () => {
    const cases = fixtures.map((f) => ({ label: f.file, pod: f.pod, accounts }));
    const o = await compare(cases, namespace, send);
    report("upstream's fixtures", o);
    assert.deepEqual(o.failures, []);
    assert.equal(o.unexplained, 0);
    assert.equal(o.compared, fixtures.length);
    assert.ok(o.mutated >= fixtures.length - 2, `most fixtures are mutated (${o.mutated})`);
  });

  it(`${GENERATED} generated pods: the same resulting pods, but for the documented divergences`, async () => {
    process.stdout.write(`differential: fast-check seed ${SEED} (set IRSA_DIFF_SEED to replay another)\n`);
    const pods = fc.sample(podArb, { seed: SEED, numRuns: GENERATED });
    const cases = pods.map((pod, i) => ({ label: `generated pod ${i} (seed ${SEED})`, pod, accounts }));
    const o = await compare(cases, namespace, send);
    report("generated pods", o);
    assert.deepEqual(o.failures, []);
    assert.equal(o.unexplained, 0);
    assert.equal(o.compared, GENERATED);
    assert.ok(o.mutated > GENERATED / 2, `most generated pods are mutated (${o.mutated})`);
    for (const d of DIVERGENCES) {
      assert.ok((o.byDivergence.get(d.id) ?? 0) > 0, `the generator exercises divergence ${d.id}`);
    }
  });
});
