/**
 * The known bugs and sharp edges of aws/amazon-eks-pod-identity-webhook, from its GitHub issues and
 * pull requests, each pinned to what this webhook does instead. A test is named after the upstream
 * issue (or PR) it answers.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import {
  mutatePod,
  serviceAccountSettings,
  webhookConfig,
  type MutationResult,
  type ServiceAccountOptions,
  type WebhookConfig,
} from "../../src/core/mutate/index.js";
import {
  admissionResponse,
  isPodCreate,
  parseAdmissionReview,
  type PodCreateRequest,
} from "../../src/core/admission.js";
import { podAdmitter } from "../../src/webhook/admit.js";
import { fakeLookup, podCreateRequest } from "../support/admission.js";
import { REPO_ROOT } from "../support/paths.js";

type Json = Record<string, unknown>;
interface Env {
  name: string;
  value?: string;
}

const ARN = "arn:aws:iam::111122223333:role/s3-reader";
const ROLE = "eks.amazonaws.com/role-arn";
const MOUNT_PATH = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
const MOUNT = { name: "aws-iam-token", readOnly: true, mountPath: MOUNT_PATH };
const TOKEN_FILE = `${MOUNT_PATH}/token`;

function pod(spec: Json = {}, metadata: Json = {}): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", ...metadata },
    spec: { serviceAccountName: "app", containers: [{ name: "app", image: "busybox" }], ...spec },
  };
}

function run(
  p: Json,
  opts: {
    annotations?: Record<string, string>;
    config?: Partial<WebhookConfig>;
    options?: ServiceAccountOptions;
  } = {},
): MutationResult {
  const config = webhookConfig({ jitter: () => 0, ...opts.config });
  const sa = { metadata: { name: "app", annotations: opts.annotations ?? { [ROLE]: ARN } } };
  return mutatePod(p, serviceAccountSettings(sa, config, opts.options), config);
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

function containersOf(r: MutationResult, key = "containers"): Json[] {
  return list((r.pod.spec as Json)[key]);
}

function envOf(c: Json | undefined): Record<string, string | undefined> {
  return Object.fromEntries((list(c?.env) as unknown as Env[]).map((e) => [e.name, e.value]));
}

function paths(r: MutationResult): string[] {
  return r.patch.map((o) => o.path);
}

function request(req: Json): PodCreateRequest {
  return podCreateRequest({ object: pod(), ...req });
}

/** Upstream rewrites whole container arrays through Go structs of its vendored k8s.io/api version. */
describe("fields upstream dropped by re-encoding whole containers", () => {
  it("upstream #84 (PR #92): startupProbe is kept", () => {
    const probe = { httpGet: { path: "/started", port: 8080 }, failureThreshold: 60 };
    const r = run(pod({ containers: [{ name: "app", startupProbe: probe }] }));
    assert.deepEqual(containersOf(r)[0]?.startupProbe, probe);
  });

  it("upstream #165: gRPC probes are kept (the pod was refused: 'must specify a handler type')", () => {
    const c = {
      name: "app",
      livenessProbe: { grpc: { port: 9090, service: "x" } },
      readinessProbe: { grpc: { port: 9090 } },
    };
    const r = run(pod({ containers: [c] }));
    assert.deepEqual(containersOf(r)[0]?.livenessProbe, c.livenessProbe);
    assert.deepEqual(containersOf(r)[0]?.readinessProbe, c.readinessProbe);
  });

  it("upstream #208 (PR #209, kops #16802): a native sidecar keeps restartPolicy: Always and is mutated", () => {
    const sidecar = {
      name: "proxy",
      restartPolicy: "Always",
      readinessProbe: { tcpSocket: { port: 15000 } },
    };
    const r = run(pod({ initContainers: [sidecar] }));
    const out = containersOf(r, "initContainers")[0];
    assert.equal(out?.restartPolicy, "Always");
    assert.deepEqual(out.readinessProbe, sidecar.readinessProbe);
    assert.equal(envOf(out).AWS_ROLE_ARN, ARN);
  });

  it("the same class of bug for any field newer than upstream's k8s.io/api: resizePolicy and unknown fields", () => {
    const c = {
      name: "app",
      resizePolicy: [{ resourceName: "cpu", restartPolicy: "NotRequired" }],
      restartPolicyRules: [{ action: "Restart", exitCodes: { operator: "In", values: [42] } }],
      someFutureField: { nested: [1, "two"] },
    };
    const r = run(pod({ containers: [c], someFutureSpecField: true }));
    const out = containersOf(r)[0] ?? {};
    for (const k of ["resizePolicy", "restartPolicyRules", "someFutureField"] as const)
      assert.deepEqual(out[k], c[k]);
    assert.equal((r.pod.spec as Json).someFutureSpecField, true);
    for (const op of r.patch) assert.doesNotMatch(op.path, /^\/spec\/(init)?[cC]ontainers(\/\d+)?$/);
  });
});

describe("what upstream skipped when part of the mutation was already there", () => {
  it("upstream #61 (PR #62) and #91: a container added by a later webhook is mutated on reinvocation", () => {
    const first = run(pod());
    const withSidecar = structuredClone(first.pod);
    list((withSidecar.spec as Json).containers).push({ name: "vault-agent", image: "vault" });
    const again = run(withSidecar);
    assert.deepEqual(paths(again), ["/spec/containers/1/env", "/spec/containers/1/volumeMounts"]);
    assert.equal(envOf(containersOf(again)[1]).AWS_ROLE_ARN, ARN);
    assert.deepEqual(run(again.pod).patch, [], "and nothing on a third pass");
  });

  it("upstream #82: a container that already sets the credential env vars still gets the mount", () => {
    const env = [
      { name: "AWS_ROLE_ARN", value: ARN },
      { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: TOKEN_FILE },
    ];
    const r = run(pod({ containers: [{ name: "app", env }] }));
    assert.deepEqual(paths(r), ["/spec/volumes", "/spec/containers/0/volumeMounts"]);
    assert.deepEqual(list(containersOf(r)[0]?.env), env, "its own values are kept");
  });

  it("upstream #159 (Istio holdApplicationUntilProxyStarts): no second mount at a path already mounted", () => {
    // Upstream matched mounts by name only, so a different volume at the token path got a second
    // mount there and kube-apiserver refused the pod: "mountPath: must be unique".
    const c = { name: "app", volumeMounts: [{ name: "istio-token", mountPath: MOUNT_PATH }] };
    const r = run(pod({ containers: [c] }));
    assert.ok(!paths(r).some((p) => p.includes("volumeMounts")));
    const mounts = list(containersOf(r)[0]?.volumeMounts).map((m) => m.mountPath);
    assert.equal(new Set(mounts).size, mounts.length);
  });

  it("fixed (upstream #315, PR #316): a pod whose own volume is named aws-iam-token is left unchanged", () => {
    // Upstream matched the volume by name only: it added no token volume, yet pointed every
    // container's AWS_WEB_IDENTITY_TOKEN_FILE and mount at the pod's own volume (a hostPath, a
    // secret, a token for Vault), so the SDKs failed over to the node's role.
    const vault = { serviceAccountToken: { audience: "vault", expirationSeconds: 3600, path: "token" } };
    const p = pod({
      containers: [{ name: "app" }, { name: "sidecar" }],
      volumes: [{ name: "aws-iam-token", projected: { sources: [vault] } }],
    });
    const r = run(p);
    assert.deepEqual(r.patch, []);
    assert.deepEqual(r.pod, p);
    assert.match(r.conflict ?? "", /own volume "aws-iam-token" is not a projected service account token/);
  });

  it("upstream #315's other half: the webhook's own volume from an earlier pass is used, not refused", () => {
    const first = run(pod());
    const withSidecar = structuredClone(first.pod);
    list((withSidecar.spec as Json).containers).push({ name: "sidecar" });
    const again = run(withSidecar, { config: { tokenExpiration: 7200 } });
    assert.equal(again.conflict, undefined, "another lifetime does not make it foreign");
    assert.deepEqual(paths(again), ["/spec/containers/1/env", "/spec/containers/1/volumeMounts"]);
  });

  it("upstream #315 through the admission path: the pod is admitted unchanged with a warning", async () => {
    const lookup = fakeLookup({ "team-a/app": { annotations: { [ROLE]: ARN }, via: "cache" } });
    const admit = podAdmitter({
      config: webhookConfig({ jitter: () => 0 }),
      cache: lookup,
      gracePeriodMs: 0,
    });
    const object = pod({ volumes: [{ name: "aws-iam-token", secret: { secretName: "creds" } }] });
    const d = await admit(request({ object }));
    assert.deepEqual(d.patch, []);
    assert.match(d.reason, /not mutated/);
    assert.equal(d.warnings?.length, 1);
    assert.match(d.warnings[0] ?? "", /^irsa webhook: the pod's own volume "aws-iam-token"/);
  });

  it("upstream #17 (PR #18): a pod without volumes (automountServiceAccountToken: false) gets /spec/volumes", () => {
    // Upstream's `add /spec/volumes/0` failed there: "doc is missing path: /spec/volumes/0".
    const r = run(pod({ automountServiceAccountToken: false }));
    assert.equal(r.patch[0]?.path, "/spec/volumes");
    assert.deepEqual(
      list((r.pod.spec as Json).volumes).map((v) => v.name),
      ["aws-iam-token"],
    );
  });
});

describe("env vars and annotations", () => {
  it("upstream #57 (PR #26): Windows pods get a C:\\ token path, by either os node selector", () => {
    for (const key of ["kubernetes.io/os", "beta.kubernetes.io/os"]) {
      const r = run(pod({ nodeSelector: { [key]: "windows" } }));
      assert.equal(
        envOf(containersOf(r)[0]).AWS_WEB_IDENTITY_TOKEN_FILE,
        "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token",
      );
      assert.deepEqual(containersOf(r)[0]?.volumeMounts, [MOUNT], "the mount path itself stays /");
    }
  });

  it("upstream #110 (PR #120): the sts-regional-endpoints annotation works whatever the flag", () => {
    const key = "eks.amazonaws.com/sts-regional-endpoints";
    const regional = (flag: boolean, annotation?: string): string | undefined =>
      envOf(
        containersOf(
          run(pod(), {
            annotations: { [ROLE]: ARN, ...(annotation !== undefined && { [key]: annotation }) },
            config: { stsRegionalEndpoint: flag },
          }),
        )[0],
      ).AWS_STS_REGIONAL_ENDPOINTS;
    assert.equal(regional(false, "true"), "regional");
    assert.equal(regional(true, "false"), undefined);
    assert.equal(regional(true), "regional");
    assert.equal(regional(false), undefined);
  });

  it("upstream #40 (PR #38, #41): both region vars, and neither when the container sets one", () => {
    const config = { awsDefaultRegion: "eu-west-1" };
    const fresh = envOf(containersOf(run(pod(), { config }))[0]);
    assert.equal(fresh.AWS_REGION, "eu-west-1");
    assert.equal(fresh.AWS_DEFAULT_REGION, "eu-west-1");
    const own = run(
      pod({ containers: [{ name: "app", env: [{ name: "AWS_REGION", value: "us-east-1" }] }] }),
      {
        config,
      },
    );
    assert.equal(envOf(containersOf(own)[0]).AWS_REGION, "us-east-1");
    assert.equal(envOf(containersOf(own)[0]).AWS_DEFAULT_REGION, undefined);
  });

  it("upstream #248: as upstream, region vars from envFrom are not seen (env wins; set them in env)", () => {
    // The webhook cannot read ConfigMaps (its RBAC is ServiceAccounts only), so an explicit env
    // entry is the one way to keep the injected region out.
    const c = { name: "app", envFrom: [{ configMapRef: { name: "aws" } }] };
    const r = run(pod({ containers: [c] }), { config: { awsDefaultRegion: "eu-central-1" } });
    assert.equal(envOf(containersOf(r)[0]).AWS_REGION, "eu-central-1");
    assert.deepEqual(containersOf(r)[0]?.envFrom, c.envFrom);
  });

  it("upstream #105 (PR #97) and #155 (PR #207): the pod's token-expiration wins, at least 600 s", () => {
    const key = "eks.amazonaws.com/token-expiration";
    const expiration = (podValue: string | undefined, saValue = "7200"): unknown => {
      const p = pod({}, podValue === undefined ? {} : { annotations: { [key]: podValue } });
      const r = run(p, { annotations: { [ROLE]: ARN, [key]: saValue } });
      const vol = list((r.pod.spec as Json).volumes)[0] as { projected: { sources: Json[] } };
      return (vol.projected.sources[0]?.serviceAccountToken as Json).expirationSeconds;
    };
    assert.equal(expiration(undefined), 7200, "the account's");
    assert.equal(expiration("3600"), 3600, "the pod's wins");
    assert.equal(expiration("60"), 600, "raised to kube-apiserver's minimum");
    assert.equal(expiration("1h"), 7200, "an unparseable pod value is ignored");
  });

  it("fixed: a token-expiration above 2^32 s is lowered to it (upstream passes it on and the pod is refused)", () => {
    // kube-apiserver: "expirationSeconds: may not specify a duration larger than 2^32 seconds".
    const key = "eks.amazonaws.com/token-expiration";
    for (const [sa, onPod] of [
      ["99999999999", undefined],
      ["3600", "4294967297"],
      ["3600", "9223372036854775807"],
    ] as const) {
      const p = pod({}, onPod === undefined ? {} : { annotations: { [key]: onPod } });
      const r = run(p, { annotations: { [ROLE]: ARN, [key]: sa } });
      const vol = list((r.pod.spec as Json).volumes)[0] as { projected: { sources: Json[] } };
      assert.equal((vol.projected.sources[0]?.serviceAccountToken as Json).expirationSeconds, 2 ** 32);
    }
  });
});

describe("skip-containers", () => {
  it("fixed (upstream #93): every container named is skipped, however the list is spaced or quoted", () => {
    // Upstream reads the annotation as the first record of Go's encoding/csv: after "a, b" it skips
    // " b", which no container is named, so the sidecar still got the credentials; a second line
    // was ignored; a misplaced quote made it skip nothing at all.
    const skipped = (annotation: string): string[] => {
      const p = pod(
        { containers: ["app", "istio-proxy", "jaeger-agent"].map((name) => ({ name })) },
        { annotations: { "eks.amazonaws.com/skip-containers": annotation } },
      );
      return containersOf(run(p))
        .filter((c) => c.env === undefined)
        .map((c) => String(c.name));
    };
    const both = ["istio-proxy", "jaeger-agent"];
    assert.deepEqual(skipped("istio-proxy,jaeger-agent"), both, "as upstream");
    assert.deepEqual(skipped("istio-proxy, jaeger-agent"), both);
    assert.deepEqual(skipped("istio-proxy\njaeger-agent\n"), both);
    assert.deepEqual(skipped('"istio-proxy", jaeger-agent'), both);
    assert.deepEqual(skipped('istio-proxy,jaeger-agent,"typo'), both);
  });

  it("as upstream, skip-containers is read from the pod only, not from the ServiceAccount", () => {
    const r = run(pod(), {
      annotations: { [ROLE]: ARN, "eks.amazonaws.com/skip-containers": "app" },
    });
    assert.equal(envOf(containersOf(r)[0]).AWS_ROLE_ARN, ARN);
  });
});

describe("the admission exchange", () => {
  it("upstream #225, #205 (PR #310): the answer names apiVersion and kind, in the request's version", () => {
    for (const apiVersion of ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const) {
      const body = admissionResponse({ apiVersion, uid: "u" }, []);
      assert.equal(body.apiVersion, apiVersion);
      assert.equal(body.kind, "AdmissionReview");
      assert.equal(body.response.uid, "u");
    }
  });

  it("as upstream's handler: the namespace is the request's (a pod from a template has none, only a generateName)", async () => {
    const lookup = fakeLookup({ "team-a/app": { annotations: { [ROLE]: ARN }, via: "cache" } });
    const admit = podAdmitter({
      config: webhookConfig({ jitter: () => 0 }),
      cache: lookup,
      gracePeriodMs: 0,
    });
    const fromTemplate = pod({}, { name: undefined, generateName: "web-7d9c-" });
    const d = await admit(request({ object: fromTemplate }));
    assert.deepEqual(
      lookup.asked.map(([k]) => k),
      ["team-a/app"],
    );
    assert.ok(d.patch.length > 0);
    const elsewhere = pod({}, { namespace: "team-b" });
    await admit(request({ object: elsewhere }));
    assert.equal(lookup.asked[1]?.[0], "team-a/app", "the request's namespace, not the object's");
  });

  it("upstream #46 (PR #79): a dry-run CREATE is mutated as a real one, and the manifest says sideEffects: None", async () => {
    const lookup = fakeLookup({ "team-a/app": { annotations: { [ROLE]: ARN }, via: "cache" } });
    const admit = podAdmitter({
      config: webhookConfig({ jitter: () => 0 }),
      cache: lookup,
      gracePeriodMs: 0,
    });
    const real = await admit(request({}));
    const dry = await admit(request({ dryRun: true }));
    assert.ok(dry.patch.length > 0);
    assert.deepEqual(dry.patch, real.patch);
    assert.equal(manifestWebhook().sideEffects, "None");
  });

  it("only pod CREATEs are mutated: not UPDATE, not subresources such as ephemeralcontainers", () => {
    const base = {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid: "u",
        kind: { group: "", version: "v1", kind: "Pod" },
        namespace: "team-a",
        object: pod(),
      },
    };
    const variant = (req: Json) =>
      isPodCreate(parseAdmissionReview(JSON.stringify({ ...base, request: { ...base.request, ...req } })));
    assert.equal(variant({ operation: "CREATE" }), true);
    assert.equal(variant({ operation: "UPDATE" }), false);
    assert.equal(variant({ operation: "UPDATE", subResource: "ephemeralcontainers" }), false);
    assert.equal(variant({ operation: "CREATE", subResource: "binding" }), false);
  });

  it("upstream #174 (PRs #236, #252): a pod whose ServiceAccount is not cached yet waits for it and is mutated", async () => {
    const lookup = fakeLookup({ "team-a/app": { annotations: { [ROLE]: ARN }, via: "get" } });
    const admit = podAdmitter({
      config: webhookConfig({ jitter: () => 0 }),
      cache: lookup,
      gracePeriodMs: 1000,
    });
    const d = await admit(request({}));
    assert.deepEqual(lookup.asked, [["team-a/app", 1000]], "asked with the grace period");
    assert.ok(d.patch.length > 0);
    assert.equal(d.lookup, "get");
  });

  it("upstream #187 and #91: the manifest asks to be reinvoked, and speaks admission v1", () => {
    const w = manifestWebhook();
    assert.equal(w.reinvocationPolicy, "IfNeeded");
    assert.deepEqual(w.admissionReviewVersions, ["v1", "v1beta1"]);
  });

  it("the pod-identity label's '/' is escaped in the JSON Pointer (~1)", () => {
    const r = run(pod({}, { labels: { app: "web" } }), { options: { containerCredentials: true } });
    assert.equal(r.patch[0]?.path, "/metadata/labels/eks.amazonaws.com~1pod-identity");
    assert.deepEqual((r.pod.metadata as Json).labels, {
      app: "web",
      "eks.amazonaws.com/pod-identity": "enabled",
    });
  });
});

function manifestWebhook(): Json {
  const docs = parseAllDocuments(readFileSync(join(REPO_ROOT, "deploy/webhook.yaml"), "utf8"));
  const doc = docs.map((d) => d.toJS() as Json).find((d) => d.kind === "MutatingWebhookConfiguration");
  const [w] = list(doc?.webhooks);
  assert.ok(w, "one webhook in the MutatingWebhookConfiguration of deploy/webhook.yaml");
  return w;
}
