/**
 * The Helm chart deploy/helm/irsa-anywhere, rendered by a real helm (test/peers/build-helm.sh) and
 * applied to the real kube-apiserver harness with server-side apply: the default values, and a
 * matrix of TLS mode (self-signed, cert-manager) by replicas (1, 3). Its values.schema.json
 * refuses wrong types; the chart's RBAC is checked by the API server's own authorizer; the pod
 * templates pass the restricted Pod Security Standard (a dry-run pod in a namespace enforcing
 * it); the plain manifests in deploy/ equal a fresh render (scripts/render-manifests.sh).
 *
 * No cert-manager or Prometheus Operator runs here: before the matrix, minimal CustomResource
 * Definitions for cert-manager's Issuer and Certificate and for the ServiceMonitor are applied
 * (any object under those kinds is accepted), so that the API server stores the chart's objects of
 * those kinds. Their fields are checked by the assertions below, not by the operators' schemas.
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
 * client-node's models are plain-data classes; its API takes plain JSON, so object literals are
 * exactly what goes over the wire. */
import {
  ApiextensionsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
  type V1Deployment,
  type V1PodTemplateSpec,
} from "@kubernetes/client-node";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments, parse } from "yaml";
import { helmBin, REPO_ROOT, startKube, stopAll, waitUntil, type Kube } from "./harness/index.js";

const CHART = join(REPO_ROOT, "deploy/helm/irsa-anywhere");
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string })
  .version;

interface Obj extends KubernetesObject {
  readonly spec?: Record<string, unknown>;
  readonly [k: string]: unknown;
}

function helm(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(helmBin(), args, { encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` with these --set flags; the rendered objects. */
function render(release: string, namespace: string, sets: readonly string[] = []): Obj[] {
  const r = helm("template", release, CHART, "--namespace", namespace, ...sets.flatMap((s) => ["--set", s]));
  assert.equal(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const ofKind = (objs: readonly Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);
function one(objs: readonly Obj[], kind: string, name?: string): Obj {
  const found = ofKind(objs, kind).filter((o) => name === undefined || o.metadata?.name === name);
  assert.equal(found.length, 1, `one ${kind}${name === undefined ? "" : ` ${name}`}`);
  return found[0] as Obj;
}
const podTemplate = (d: Obj): V1PodTemplateSpec => (d as V1Deployment).spec?.template as V1PodTemplateSpec;

let kube: Kube;
before(async () => {
  kube = await startKube();
});
after(stopAll);

describe("default values", () => {
  const objs = render("irsa-anywhere", "irsa-anywhere");

  it("render the webhook (self-signed TLS, two replicas, a PDB) and no issuer or ServiceMonitor", () => {
    assert.deepEqual(
      ofKind(objs, "Deployment").map((d) => d.metadata?.name),
      ["irsa-anywhere-webhook"],
    );
    assert.equal(ofKind(objs, "ServiceMonitor").length, 0);
    assert.equal(ofKind(objs, "Certificate").length, 0);
    const d = one(objs, "Deployment");
    assert.equal(d.spec?.replicas, 2);
    assert.equal(one(objs, "PodDisruptionBudget").spec?.minAvailable, 1);
    const args = podTemplate(d).spec?.containers[0]?.args ?? [];
    for (const a of [
      "webhook",
      "--self-signed-tls",
      "--namespace=irsa-anywhere",
      "--tls-secret=irsa-anywhere-webhook-tls",
      "--service-name=irsa-anywhere-webhook",
      "--webhook-config-name=pod-identity-webhook",
    ]) {
      assert.ok(args.includes(a), a);
    }
  });

  it("use the image ghcr.io/irsa-anywhere/irsa-anywhere at package.json's version (the chart's appVersion)", () => {
    const chart = parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as { appVersion: string };
    assert.equal(chart.appVersion, VERSION);
    const c = podTemplate(one(objs, "Deployment")).spec?.containers[0];
    assert.equal(c?.image, `ghcr.io/irsa-anywhere/irsa-anywhere:${VERSION}`);
  });

  it("run non-root with a read-only root filesystem, no capabilities and seccomp RuntimeDefault", () => {
    const spec = podTemplate(one(objs, "Deployment")).spec;
    const [container] = spec?.containers ?? [];
    assert.ok(spec !== undefined && container !== undefined);
    assert.equal(spec.securityContext?.runAsNonRoot, true);
    assert.equal(spec.securityContext.seccompProfile?.type, "RuntimeDefault");
    const sc = container.securityContext;
    assert.equal(sc?.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual(sc.capabilities?.drop, ["ALL"]);
    assert.ok(container.resources?.requests?.memory !== undefined, "resources set");
    const keys = (spec.topologySpreadConstraints ?? []).map((t) => t.topologyKey);
    assert.deepEqual(keys, ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
  });

  it("register the webhook with no caBundle (the webhook patches it) and failurePolicy Ignore", () => {
    const mwc = one(objs, "MutatingWebhookConfiguration", "pod-identity-webhook");
    const [w] = mwc.webhooks as { clientConfig: { caBundle?: string }; failurePolicy: string }[];
    assert.equal(w?.clientConfig.caBundle, undefined);
    assert.equal(w?.failurePolicy, "Ignore");
  });

  it("scope the Secret and configuration rules by resourceNames; create on secrets only in the namespace", () => {
    const role = one(objs, "Role");
    assert.equal(role.metadata?.namespace, "irsa-anywhere");
    assert.deepEqual(role.rules, [
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["irsa-anywhere-webhook-tls"],
        verbs: ["get", "update"],
      },
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
    ]);
    assert.deepEqual(one(objs, "ClusterRole").rules, [
      { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "list", "watch"] },
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingwebhookconfigurations"],
        resourceNames: ["pod-identity-webhook"],
        verbs: ["get", "patch"],
      },
    ]);
  });
});

describe("values.schema.json", () => {
  for (const [set, message] of [
    ["webhook.replicas=three", /\/webhook\/replicas.*got string, want integer/],
    ["webhook.tls.mode=vault", /\/webhook\/tls\/mode/],
    ["webhook.replica=3", /additional properties 'replica' not allowed/],
    ["issuer.enabled=true", /\/issuer\/publicIssuer/],
  ] as const) {
    it(`refuses --set ${set}: helm template fails naming the value`, () => {
      const r = helm("template", "x", CHART, "--set", set);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
    });
  }
});

describe("deploy/*.yaml", () => {
  it("equal a fresh render of the chart (scripts/render-manifests.sh)", () => {
    const out = mkdtempSync(join(tmpdir(), "irsa-manifests-"));
    try {
      const r = spawnSync("bash", [join(REPO_ROOT, "scripts/render-manifests.sh"), "--out", out], {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      const files = readdirSync(out).sort();
      assert.deepEqual(files, ["issuer.yaml", "webhook-cert-manager.yaml", "webhook.yaml"]);
      for (const f of files) {
        assert.equal(
          readFileSync(join(REPO_ROOT, "deploy", f), "utf8"),
          readFileSync(join(out, f), "utf8"),
          `deploy/${f} drifted from the chart: run bash scripts/render-manifests.sh`,
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

/** Minimal CRDs: the kind exists, any content is stored. */
function crd(group: string, kind: string, plural: string): Obj {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
            },
          },
        },
      ],
    },
  };
}

async function serverSideApply(objs: readonly Obj[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kube.kubeConfig);
  for (const o of objs) {
    try {
      await api.patch(o, undefined, undefined, "irsa-chart-test", true, PatchStrategy.ServerSideApply);
    } catch (e) {
      throw new Error(`server-side apply of ${o.kind ?? ""} ${o.metadata?.name ?? ""}: ${String(e)}`, {
        cause: e,
      });
    }
    const back = await api.read({
      apiVersion: o.apiVersion ?? "",
      kind: o.kind ?? "",
      metadata: { name: o.metadata?.name ?? "", namespace: o.metadata?.namespace ?? "" },
    });
    assert.equal(back.metadata?.name, o.metadata?.name);
  }
}

describe("the values matrix, server-side applied to kube-apiserver", () => {
  before(async () => {
    const crds = [
      crd("cert-manager.io", "Issuer", "issuers"),
      crd("cert-manager.io", "Certificate", "certificates"),
      crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors"),
    ];
    await serverSideApply(crds);
    const ext = kube.kubeConfig.makeApiClient(ApiextensionsV1Api);
    for (const c of crds) {
      await waitUntil(`CRD ${c.metadata?.name ?? ""} established`, async () => {
        const got = await ext.readCustomResourceDefinition({ name: c.metadata?.name ?? "" });
        return got.status?.conditions?.some((x) => x.type === "Established" && x.status === "True") === true;
      });
    }
  });

  for (const mode of ["self-signed", "cert-manager"] as const) {
    for (const replicas of [1, 3]) {
      it(`tls.mode=${mode}, replicas=${replicas}: every object is accepted, pods pass the restricted standard`, async () => {
        const release = `m-${mode}-${replicas}`;
        const ns = release;
        const objs = render(release, ns, [
          "createNamespace=true",
          `webhook.tls.mode=${mode}`,
          `webhook.replicas=${replicas}`,
          `webhook.configurationName=${release}`,
          `issuer.replicas=${replicas}`,
          "issuer.enabled=true",
          "issuer.publicIssuer=https://oidc.example.com/cluster-1",
          "issuer.to=s3://bucket/cluster-1",
          "serviceMonitor.enabled=true",
        ]);
        assert.equal(
          ofKind(objs, "PodDisruptionBudget").length,
          replicas > 1 ? 2 : 0,
          "a PDB per Deployment with replicas > 1",
        );
        assert.equal(ofKind(objs, "Certificate").length, mode === "cert-manager" ? 2 : 0);
        assert.equal(ofKind(objs, "Role").length, mode === "self-signed" ? 1 : 0);
        assert.equal(ofKind(objs, "ServiceMonitor").length, 2);
        for (const d of ofKind(objs, "Deployment")) assert.equal(d.spec?.replicas, replicas);
        const mwc = one(objs, "MutatingWebhookConfiguration", release);
        assert.equal(
          mwc.metadata?.annotations?.["cert-manager.io/inject-ca-from"],
          mode === "cert-manager" ? `${ns}/${release}-webhook` : undefined,
        );
        // The Namespace first (it is rendered first), then everything else.
        await serverSideApply(objs);

        // Each Deployment's pod, as a dry-run in the namespace that enforces "restricted".
        const core = kube.kubeConfig.makeApiClient(CoreV1Api);
        for (const d of ofKind(objs, "Deployment")) {
          const t = podTemplate(d);
          await core.createNamespacedPod({
            namespace: ns,
            body: {
              metadata: { name: `${d.metadata?.name ?? ""}-probe`, labels: t.metadata?.labels },
              spec: t.spec,
            },
            dryRun: "All",
          });
        }
      });
    }
  }

  it("the restricted standard is enforced there: a root pod is refused", async () => {
    const core = kube.kubeConfig.makeApiClient(CoreV1Api);
    await assert.rejects(
      core.createNamespacedPod({
        namespace: "m-self-signed-1",
        body: {
          metadata: { name: "root" },
          // An account that exists (no controller-manager creates `default` here).
          spec: {
            serviceAccountName: "m-self-signed-1-webhook",
            containers: [{ name: "c", image: "busybox" }],
          },
        },
        dryRun: "All",
      }),
      /restricted/,
    );
  });

  it("the webhook's RBAC allows its Secret and configuration by name, and nothing beside them", async () => {
    const ns = "m-self-signed-3";
    const authz = kube.kubeConfig.makeApiClient(AuthorizationV1Api);
    const can = async (verb: string, resource: string, group: string, name?: string, namespace?: string) => {
      const r = await authz.createSubjectAccessReview({
        body: {
          spec: {
            user: `system:serviceaccount:${ns}:${ns}-webhook`,
            groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"],
            resourceAttributes: { verb, resource, group, name, namespace },
          },
        },
      });
      return r.status?.allowed === true;
    };
    const cases: [string, string, string, string | undefined, string | undefined, boolean][] = [
      ["get", "secrets", "", `${ns}-webhook-tls`, ns, true],
      ["update", "secrets", "", `${ns}-webhook-tls`, ns, true],
      ["create", "secrets", "", undefined, ns, true],
      ["get", "secrets", "", "another", ns, false],
      ["update", "secrets", "", "another", ns, false],
      ["list", "secrets", "", undefined, ns, false],
      ["delete", "secrets", "", `${ns}-webhook-tls`, ns, false],
      ["create", "secrets", "", undefined, "default", false],
      ["get", "secrets", "", `${ns}-webhook-tls`, "default", false],
      ["patch", "mutatingwebhookconfigurations", "admissionregistration.k8s.io", ns, undefined, true],
      ["get", "mutatingwebhookconfigurations", "admissionregistration.k8s.io", ns, undefined, true],
      ["patch", "mutatingwebhookconfigurations", "admissionregistration.k8s.io", "another", undefined, false],
      ["list", "mutatingwebhookconfigurations", "admissionregistration.k8s.io", undefined, undefined, false],
      ["watch", "serviceaccounts", "", undefined, undefined, true],
      ["update", "serviceaccounts", "", undefined, "default", false],
      ["list", "pods", "", undefined, undefined, false],
    ];
    for (const [verb, resource, group, name, namespace, allowed] of cases) {
      assert.equal(
        await can(verb, resource, group, name, namespace),
        allowed,
        `${verb} ${resource}${name === undefined ? "" : `/${name}`} in ${namespace ?? "the cluster"}`,
      );
    }
  });
});
