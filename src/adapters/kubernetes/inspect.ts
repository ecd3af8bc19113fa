/**
 * What doctor reads from a cluster besides documents and tokens: a TokenReview against the API
 * server's own audiences, a MutatingWebhookConfiguration, and a pod created with dryRun=All (every
 * admission webhook runs, nothing is stored).
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
 * client-node's models are plain-data classes; its API takes plain JSON. */
import {
  AdmissionregistrationV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  type KubeConfig,
} from "@kubernetes/client-node";
import type { DryRunFacts, TokenReviewFacts, WebhookEntry } from "../../core/doctor/facts.js";

const is404 = (e: unknown): boolean => (e as { code?: number }).code === 404;

/** A TokenReview with no audiences: the API server checks the token against its --api-audiences. */
export async function reviewToken(kc: KubeConfig, token: string): Promise<TokenReviewFacts> {
  const r = await kc.makeApiClient(AuthenticationV1Api).createTokenReview({
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
  });
  return { authenticated: r.status?.authenticated === true, error: r.status?.error || undefined };
}

/** The webhooks of a MutatingWebhookConfiguration; undefined when it does not exist. */
export async function readMutatingWebhooks(
  kc: KubeConfig,
  name: string,
): Promise<WebhookEntry[] | undefined> {
  let c;
  try {
    c = await kc.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name });
  } catch (e) {
    if (is404(e)) return undefined;
    throw e;
  }
  return (c.webhooks ?? []).map((w) => {
    const svc = w.clientConfig.service;
    return {
      name: w.name,
      url: w.clientConfig.url,
      service:
        svc === undefined ? undefined : `${svc.namespace}/${svc.name}:${svc.port ?? 443}${svc.path ?? ""}`,
      caBundle: w.clientConfig.caBundle,
      failurePolicy: w.failurePolicy,
      podsCreate: (w.rules ?? []).some(
        (r) =>
          (r.apiGroups ?? []).some((g) => g === "" || g === "*") &&
          (r.resources ?? []).some((x) => x === "pods" || x === "*") &&
          (r.operations ?? []).some((o) => o === "CREATE" || o === "*"),
      ),
    };
  });
}

/** Creates a pod for the account with dryRun=All and returns what admission made of it. */
export async function dryRunPod(
  kc: KubeConfig,
  namespace: string,
  serviceAccount: string,
): Promise<DryRunFacts> {
  const pod = await kc.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace,
    dryRun: "All",
    body: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { generateName: "irsa-doctor-" },
      spec: {
        serviceAccountName: serviceAccount,
        containers: [{ name: "app", image: "irsa-doctor.invalid/app" }],
      },
    },
  });
  return {
    containers: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      env: Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? ""])),
    })),
    volumes: (pod.spec?.volumes ?? []).map((v) => v.name),
  };
}
