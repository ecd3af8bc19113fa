/**
 * Every pod-mutation case of the webhook this project replaces (test/fixtures/upstream-webhook):
 * its expected patch and ours, applied to the same pod, must give the same pod (except where the
 * expected patch is one of upstream's bugs, listed below). Upstream replaces whole container lists,
 * so the patches themselves differ; ours must stay targeted.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import jsonpatch, { type Operation } from "fast-json-patch";
import { parse } from "yaml";
import {
  mutatePod,
  serviceAccountSettings,
  webhookConfig,
  type PatchOperation,
  type WebhookConfig,
} from "../../src/core/mutate/index.js";
import { parseGoBool, parseGoInt64 } from "../../src/core/go/parse.js";
import { UPSTREAM_WEBHOOK_FIXTURES } from "../support/paths.js";

const FIXTURES = UPSTREAM_WEBHOOK_FIXTURES;
const T = "testing.eks.amazonaws.com/";

type Json = Record<string, unknown>;

function podFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? podFiles(join(dir, e.name)) : [join(dir, e.name)]))
    .filter((f) => f.endsWith(".pod.yaml"))
    .sort();
}

function annotationsOf(pod: Json): Record<string, string> {
  const meta = pod.metadata as { annotations?: Record<string, string> } | undefined;
  return meta?.annotations ?? {};
}

/** The service account and webhook flags a case describes (see the fixtures' README). */
function caseSetup(pod: Json): { sa: Json; config: WebhookConfig; listed: boolean } {
  const a = annotationsOf(pod);
  const t = (k: string): string | undefined => a[T + k];
  const saAnnotations: Record<string, string> = {};
  const setSa = (from: string, to: string): void => {
    const v = t(`serviceAccount/${from}`);
    if (v !== undefined) saAnnotations[`eks.amazonaws.com/${to}`] = v;
  };
  setSa("roleArn", "role-arn");
  setSa("audience", "audience");
  setSa("sts-regional-endpoints", "sts-regional-endpoints");
  setSa("token-expiration", "token-expiration");
  const listed = Object.keys(a).some((k) => k.startsWith(`${T}containercredentials/`));
  const overrides: Partial<WebhookConfig> & Pick<WebhookConfig, "jitter"> = { jitter: () => 0 };
  const injectSts = t("handler/injectSTS");
  const expiration = t("handler/expiration");
  const cc = (k: string): string | undefined => t(`containercredentials/${k}`);
  const config = webhookConfig({
    ...overrides,
    ...(injectSts !== undefined && { stsRegionalEndpoint: parseGoBool(injectSts) ?? false }),
    ...(t("handler/region") !== undefined && { awsDefaultRegion: t("handler/region") }),
    ...(expiration !== undefined && { tokenExpiration: parseGoInt64(expiration) }),
    ...(t("handler/mountPath") !== undefined && { tokenMountPath: t("handler/mountPath") }),
    ...(cc("uri") !== undefined && { containerCredentialsFullUri: cc("uri") }),
    ...(cc("audience") !== undefined && { containerCredentialsAudience: cc("audience") }),
    ...(cc("mountPath") !== undefined && { containerCredentialsTokenMountPath: cc("mountPath") }),
    ...(cc("volumeName") !== undefined && { containerCredentialsTokenVolumeName: cc("volumeName") }),
    ...(cc("tokenPath") !== undefined && { containerCredentialsTokenPath: cc("tokenPath") }),
  });
  const sa = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "default", annotations: saAnnotations },
  };
  return { sa, config, listed };
}

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== null)
        .map(([k, x]) => [k, dropNulls(x)]),
    );
  }
  return v;
}

/** The fields of a v1 VolumeMount; Go's decoder drops any other, and always writes mountPath. */
const VOLUME_MOUNT_FIELDS = [
  "name",
  "readOnly",
  "recursiveReadOnly",
  "mountPath",
  "subPath",
  "mountPropagation",
  "subPathExpr",
];

/**
 * A pod as upstream's Go serialiser writes the containers it re-encodes: no nulls, `resources: {}`
 * always, volume mounts reduced to their typed fields with `mountPath` present.
 */
function goNormalise(pod: unknown): Json {
  const p = dropNulls(pod) as Json;
  const spec = p.spec as Json;
  for (const key of ["containers", "initContainers"]) {
    for (const c of (spec[key] as Json[] | undefined) ?? []) {
      c.resources ??= {};
      const mounts = c.volumeMounts as Json[] | undefined;
      if (mounts === undefined) continue;
      c.volumeMounts = mounts.map((m) => {
        const out = Object.fromEntries(VOLUME_MOUNT_FIELDS.filter((f) => f in m).map((f) => [f, m[f]]));
        out.mountPath ??= "";
        return out;
      });
    }
  }
  return p;
}

function apply(pod: unknown, patch: readonly PatchOperation[] | Operation[]): unknown {
  return jsonpatch.applyPatch(structuredClone(pod), patch as Operation[], true, true).newDocument;
}

const WHOLE_CONTAINER = /^\/spec\/(containers|initContainers)(\/[0-9]+|\/-)?$/;

/** Cases whose expected patch is one of upstream's bugs, and why this webhook differs. */
const DELIBERATELY_DIFFERENT: Record<string, string> = {
  // Upstream #315: the pod's own hostPath volume is named aws-iam-token, so upstream adds no token
  // volume but still points the container's env at it; this webhook leaves such a pod unchanged.
  "rawPodHasVolumeMount.pod.yaml": "a foreign volume named aws-iam-token",
};

const files = podFiles(FIXTURES);

describe("upstream webhook fixtures", () => {
  it("finds the fixture files", () => {
    assert.ok(files.length >= 13, `expected at least 13 cases under ${FIXTURES}, found ${files.length}`);
  });

  for (const file of files) {
    const name = relative(FIXTURES, file);
    const pod = parse(readFileSync(file, "utf8"), { uniqueKeys: false }) as Json;
    const a = annotationsOf(pod);
    if (a[`${T}skip`] === "true") {
      it(name, { skip: "the fixture marks it skipped" }, () => undefined);
      continue;
    }
    it(name, () => {
      const expectedText = a[`${T}expectedPatch`];
      assert.ok(expectedText !== undefined, "case has an expected patch");
      const expected = (JSON.parse(expectedText) as Operation[] | null) ?? [];
      const { sa, config, listed } = caseSetup(pod);
      const settings = serviceAccountSettings(sa, config, { containerCredentials: listed });
      const result = mutatePod(pod, settings, config);
      if (Object.hasOwn(DELIBERATELY_DIFFERENT, name)) {
        assert.deepEqual(result.patch, [], DELIBERATELY_DIFFERENT[name]);
        assert.ok(result.conflict !== undefined, "and says why");
        return;
      }

      for (const op of result.patch) {
        assert.equal(op.op, "add");
        assert.doesNotMatch(op.path, WHOLE_CONTAINER, `targeted op, got ${op.path}`);
      }
      const theirs = goNormalise(apply(pod, expected));
      const ours = goNormalise(apply(pod, result.patch));
      assert.deepEqual(ours, theirs);
      assert.deepEqual(result.pod, apply(pod, result.patch), "the returned pod is the patched pod");
      assert.equal(result.mode, listed ? "container-credentials" : "web-identity");
      assert.deepEqual(mutatePod(result.pod, settings, config).patch, [], "a second pass patches nothing");
    });
  }
});
