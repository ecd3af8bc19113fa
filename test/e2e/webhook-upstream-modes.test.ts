/**
 * Two of upstream's modes against a real kube-apiserver: `--compose-role-arn` (a role-arn annotation
 * holding a bare role name or path becomes a full ARN, with the account from
 * --compose-role-arn-account-id since there is no EC2 metadata here) and `--watch-config-map`
 * (settings for accounts without a role-arn annotation from the ConfigMap pod-identity-webhook in
 * the webhook's --namespace, re-read while running).
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
 * client-node's models are plain-data classes; its API takes plain JSON, so object literals are
 * exactly what goes over the wire. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, type V1Container, type V1Pod } from "@kubernetes/client-node";
import {
  createNamespace,
  createPod,
  createServiceAccount,
  registerMutatingWebhook,
  startIrsaWebhook,
  startKube,
  stopAll,
  waitForWebhook,
  type Kube,
} from "./harness/index.js";

const ROLE = "eks.amazonaws.com/role-arn";
const ACCOUNT = "111122223333";
const arn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

let kube: Kube;
let home: string;

function env(c: V1Container | undefined): Record<string, string> {
  return Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? ""]));
}

function podFor(account: string): Partial<V1Pod> {
  return { spec: { serviceAccountName: account, containers: [{ name: "app", image: "busybox" }] } };
}

function tokenOf(pod: V1Pod): { audience?: string; expirationSeconds?: number } | undefined {
  return pod.spec?.volumes?.find((v) => v.name === "aws-iam-token")?.projected?.sources?.[0]
    ?.serviceAccountToken;
}

async function writeConfigMap(config: Record<string, unknown>): Promise<void> {
  const api = kube.kubeConfig.makeApiClient(CoreV1Api);
  const body = { metadata: { name: "pod-identity-webhook" }, data: { config: JSON.stringify(config) } };
  try {
    await api.replaceNamespacedConfigMap({ namespace: home, name: "pod-identity-webhook", body });
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
    await api.createNamespacedConfigMap({ namespace: home, body });
  }
}

/** Pods for `account` until one is stored with `roleArn` (the ConfigMap is re-read every second). */
async function podWithRole(ns: string, account: string, roleArn: string): Promise<V1Pod> {
  return waitForWebhook(kube.kubeConfig, ns, (p) => env(p.spec?.containers[0]).AWS_ROLE_ARN === roleArn, {
    makePod: () => podFor(account),
    timeoutMs: 20_000,
  });
}

before(async () => {
  kube = await startKube();
  home = await createNamespace(kube.kubeConfig);
  const w = await startIrsaWebhook(kube, {
    name: "irsa-webhook-modes",
    extraArgs: [
      "--compose-role-arn",
      `--compose-role-arn-account-id=${ACCOUNT}`,
      "--aws-default-region=eu-west-1",
      "--watch-config-map",
      `--namespace=${home}`,
      "--resync-period=1s",
    ],
  });
  await registerMutatingWebhook(kube.kubeConfig, {
    name: "irsa-modes",
    url: `https://127.0.0.1:${w.port}/mutate`,
    caBundle: kube.ca.caBundle,
    failurePolicy: "Fail",
  });
  await createServiceAccount(kube.kubeConfig, home, "probe", { [ROLE]: arn("probe") });
  await podWithRole(home, "probe", arn("probe"));
});

after(stopAll);

describe("irsa webhook --compose-role-arn with a real kube-apiserver", () => {
  it("builds the ARN from a bare role name, and from a role path, in the region's partition", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "named", { [ROLE]: "shop-web" });
    await createServiceAccount(kube.kubeConfig, ns, "pathed", { [ROLE]: "teams/shop/web" });
    const named = await createPod(kube.kubeConfig, ns, podFor("named"));
    assert.equal(env(named.spec?.containers[0]).AWS_ROLE_ARN, arn("shop-web"));
    const pathed = await createPod(kube.kubeConfig, ns, podFor("pathed"));
    assert.equal(env(pathed.spec?.containers[0]).AWS_ROLE_ARN, arn("teams/shop/web"));
  });

  it("leaves a full ARN as it is, whatever its account or partition", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    const full = "arn:aws-cn:iam::444455556666:role/other";
    await createServiceAccount(kube.kubeConfig, ns, "full", { [ROLE]: full });
    const pod = await createPod(kube.kubeConfig, ns, podFor("full"));
    assert.equal(env(pod.spec?.containers[0]).AWS_ROLE_ARN, full);
  });
});

describe("irsa webhook --watch-config-map with a real kube-apiserver", () => {
  it("mutates the pod of an account listed in the ConfigMap with the entry's settings", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "listed");
    await writeConfigMap({
      [`${ns}/listed`]: {
        RoleARN: arn("from-config-map"),
        Audience: "sts.example.com",
        UseRegionalSTS: true,
        TokenExpiration: 3600,
      },
    });
    const pod = await podWithRole(ns, "listed", arn("from-config-map"));
    const e = env(pod.spec?.containers[0]);
    assert.equal(e.AWS_STS_REGIONAL_ENDPOINTS, "regional");
    assert.equal(e.AWS_REGION, "eu-west-1");
    const token = tokenOf(pod);
    assert.equal(token?.audience, "sts.example.com");
    assert.equal(token.expirationSeconds, 3600);
  });

  it("follows the ConfigMap while running: a changed entry applies to the next pods", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "moving");
    await writeConfigMap({ [`${ns}/moving`]: { RoleARN: arn("first") } });
    await podWithRole(ns, "moving", arn("first"));
    await writeConfigMap({ [`${ns}/moving`]: { RoleARN: arn("second") } });
    await podWithRole(ns, "moving", arn("second"));
  });

  it('matches a "*/name" entry in any namespace, and an account\'s own annotation wins over its entry', async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "anywhere");
    await createServiceAccount(kube.kubeConfig, ns, "annotated", { [ROLE]: arn("own") });
    await writeConfigMap({
      "*/anywhere": { RoleARN: arn("wildcard") },
      [`${ns}/annotated`]: { RoleARN: arn("entry") },
    });
    await podWithRole(ns, "anywhere", arn("wildcard"));
    const own = await createPod(kube.kubeConfig, ns, podFor("annotated"));
    assert.equal(env(own.spec?.containers[0]).AWS_ROLE_ARN, arn("own"));
  });

  it("leaves the pod of an account neither annotated nor listed alone", async () => {
    const ns = await createNamespace(kube.kubeConfig);
    await createServiceAccount(kube.kubeConfig, ns, "unlisted");
    await writeConfigMap({ [`${ns}/other`]: { RoleARN: arn("other") } });
    // The control first: a listed account's pod is mutated, so this ConfigMap is in effect.
    await createServiceAccount(kube.kubeConfig, ns, "other");
    await podWithRole(ns, "other", arn("other"));
    const pod = await createPod(kube.kubeConfig, ns, podFor("unlisted"));
    assert.equal(env(pod.spec?.containers[0]).AWS_ROLE_ARN, undefined);
    assert.equal(tokenOf(pod), undefined);
  });
});
