/**
 * Mutation core speed, beside the floor every JSON webhook pays in the same run: parsing the
 * AdmissionReview and serialising an answer; and the size of our targeted patches beside upstream's
 * whole-container patches for upstream's own test pods. Run: node dist/bench/mutate.js
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import {
  defaultServiceAccountSettings,
  mutatePod,
  mutationPatch,
  webhookConfig,
} from "../src/core/mutate/index.js";
import { fmt, measure, table } from "./lib.js";

function container(name: string, i: number): Record<string, unknown> {
  return {
    name,
    image: `registry.example.com/team/${name}:1.${i}`,
    env: Array.from({ length: 12 }, (_, j) => ({ name: `VAR_${j}`, value: `value-${j}` })),
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
    ports: [{ containerPort: 8080 + i, protocol: "TCP" }],
    startupProbe: { httpGet: { path: "/healthz", port: 8080 + i }, failureThreshold: 30 },
    livenessProbe: { grpc: { port: 9090 } },
    volumeMounts: [{ name: "data", mountPath: "/data" }],
  };
}

/** A realistic pod: three containers, a native sidecar, an init container, several volumes. */
const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "app-7d9f", namespace: "prod", labels: { app: "app", "pod-template-hash": "7d9f" } },
  spec: {
    serviceAccountName: "app",
    initContainers: [container("migrate", 0), { ...container("proxy", 1), restartPolicy: "Always" }],
    containers: [container("app", 2), container("worker", 3), container("metrics", 4)],
    volumes: [
      { name: "data", emptyDir: {} },
      { name: "config", configMap: { name: "app" } },
      { name: "kube-api-access-x1", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } },
    ],
  },
};
const review = JSON.stringify({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: { uid: "0a1b", kind: { group: "", version: "v1", kind: "Pod" }, operation: "CREATE", object: pod },
});

const config = webhookConfig({ awsDefaultRegion: "eu-west-1", stsRegionalEndpoint: true, jitter: () => 0 });
const sa = { ...defaultServiceAccountSettings(config), roleArn: "arn:aws:iam::111122223333:role/app" };
const { patch } = mutatePod(pod, sa, config);

const floor = measure("floor: parse review + serialise answer", () => {
  const r = JSON.parse(review) as { request: { uid: string } };
  return JSON.stringify({ response: { uid: r.request.uid, allowed: true } });
});
const core = measure("mutationPatch: the patch alone (parse excluded)", () => mutationPatch(pod, sa, config));
const withPod = measure("mutatePod: patch + mutated pod copy (irsa mutate)", () =>
  mutatePod(pod, sa, config),
);
const full = measure("webhook path: parse + mutationPatch + serialise (base64)", () => {
  const r = JSON.parse(review) as { request: { uid: string; object: unknown } };
  const m = mutationPatch(r.request.object, sa, config);
  return JSON.stringify({
    response: {
      uid: r.request.uid,
      allowed: true,
      patch: Buffer.from(JSON.stringify(m.patch)).toString("base64"),
    },
  });
});

console.log(
  `mutation core, ${patch.length} patch ops (${JSON.stringify(patch).length} bytes) for a ${review.length}-byte review`,
);
console.log(
  table(
    ["case", "ns/op", "ops/s", "x floor"],
    [floor, core, withPod, full].map((m) => [
      m.name,
      fmt(m.nsPerOp, 0),
      fmt(m.opsPerSec, 0),
      fmt(m.nsPerOp / floor.nsPerOp, 2),
    ]),
  ),
);

/** Upstream's test pods, data kept in the repository (this file runs as dist/bench/mutate.js). */
const UPSTREAM_WEBHOOK_FIXTURES = fileURLToPath(
  new URL("../../test/fixtures/upstream-webhook/", import.meta.url),
);

/** Bytes of upstream's expected patch and of ours, over upstream's own test pods. */
function patchSizes(): { cases: number; upstream: number; ours: number } {
  let upstream = 0;
  let ours = 0;
  let cases = 0;
  for (const f of readdirSync(UPSTREAM_WEBHOOK_FIXTURES).filter((x) => x.endsWith(".pod.yaml"))) {
    const p = parseYaml(readFileSync(join(UPSTREAM_WEBHOOK_FIXTURES, f), "utf8"), { uniqueKeys: false }) as {
      metadata: { annotations: Record<string, string> };
    };
    const a = p.metadata.annotations;
    const expected = a["testing.eks.amazonaws.com/expectedPatch"];
    const role = a["testing.eks.amazonaws.com/serviceAccount/roleArn"];
    if (expected === undefined || role === undefined) continue;
    const config = webhookConfig({ jitter: () => 0 });
    const sa = {
      ...defaultServiceAccountSettings(config),
      roleArn: role,
      audience: a["testing.eks.amazonaws.com/serviceAccount/audience"] ?? config.tokenAudience,
    };
    upstream += Buffer.byteLength(expected);
    ours += Buffer.byteLength(JSON.stringify(mutationPatch(p, sa, config).patch));
    cases++;
  }
  return { cases, upstream, ours };
}

const sizes = patchSizes();
console.log(`\npatch bytes over upstream's ${sizes.cases} web-identity test pods`);
console.log(
  table(
    ["patch", "bytes", "x upstream"],
    [
      ["upstream (whole container arrays)", String(sizes.upstream), "1.00"],
      ["irsa (targeted adds)", String(sizes.ours), fmt(sizes.ours / sizes.upstream, 2)],
    ],
  ),
);
