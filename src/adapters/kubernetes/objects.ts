/**
 * The Kubernetes objects IRSA involves, through @kubernetes/client-node: namespaces,
 * ServiceAccounts, pods, TokenRequests, the issuer-discovery RBAC binding and a mutating webhook
 * registered by URL. They also work on a control plane with no controller-manager (the local
 * stack): createNamespace makes the `default` ServiceAccount itself, pods stay Pending, and deleted
 * namespaces stay Terminating (so use a fresh namespace instead of deleting one).
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
 * client-node's models are plain-data classes (properties only, no methods or private state); its
 * API takes and returns plain JSON, so object literals are exactly what goes over the wire. */
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
  type V1MutatingWebhook,
  type V1MutatingWebhookConfiguration,
  type V1Pod,
  type V1ServiceAccount,
} from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { IrsaError } from "../../core/errors.js";

/** A DNS-1123 name with a random suffix, e.g. `irsa-3f9a1c`. */
export function uniqueName(prefix = "irsa"): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** The API server's answer was 409 Conflict: the object exists already. */
function isConflict(e: unknown): boolean {
  return (e as { code?: number }).code === 409;
}

/**
 * Creates a namespace and its `default` ServiceAccount: without a controller-manager nothing else
 * creates it, and with one that got there first the account is left as it is.
 */
export async function createNamespace(
  kc: KubeConfig,
  name = uniqueName("ns"),
  labels: Record<string, string> = {},
): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels } } });
  try {
    await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: "default" } } });
  } catch (e) {
    if (!isConflict(e)) throw e;
  }
  return name;
}

export async function createServiceAccount(
  kc: KubeConfig,
  namespace: string,
  name: string,
  annotations: Record<string, string> = {},
): Promise<V1ServiceAccount> {
  return kc
    .makeApiClient(CoreV1Api)
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name, annotations } } });
}

/**
 * Creates a pod (it never runs: no scheduler or kubelet) and returns the object as stored, i.e.
 * after every admission plugin and webhook. Defaults: one container `app`, image `busybox`.
 */
export async function createPod(kc: KubeConfig, namespace: string, pod: Partial<V1Pod> = {}): Promise<V1Pod> {
  const body: V1Pod = {
    apiVersion: "v1",
    kind: "Pod",
    ...pod,
    metadata: Object.assign({ name: uniqueName("pod") }, pod.metadata),
    spec: pod.spec ?? { containers: [{ name: "app", image: "busybox" }] },
  };
  return kc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace, body });
}

/** Reads a pod back from the API server (as stored in etcd). */
export async function readPod(kc: KubeConfig, namespace: string, name: string): Promise<V1Pod> {
  return kc.makeApiClient(CoreV1Api).readNamespacedPod({ namespace, name });
}

export async function readServiceAccount(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<V1ServiceAccount> {
  return kc.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ namespace, name });
}

export interface TokenOptions {
  readonly audiences?: readonly string[];
  /** ≥ 600; default 3600. */
  readonly expirationSeconds?: number;
  /** Bind the token to this pod (it must exist and use the same ServiceAccount). */
  readonly boundPod?: { readonly name: string; readonly uid: string };
}

/** A TokenRequest for a ServiceAccount: the signed JWT and its expiry. */
export async function requestToken(
  kc: KubeConfig,
  namespace: string,
  serviceAccount: string,
  opts: TokenOptions = {},
): Promise<{ token: string; expirationTimestamp: Date | undefined }> {
  const res = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace,
    name: serviceAccount,
    body: {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        audiences: [...(opts.audiences ?? [])],
        expirationSeconds: opts.expirationSeconds ?? 3600,
        ...(opts.boundPod
          ? {
              boundObjectRef: {
                apiVersion: "v1",
                kind: "Pod",
                name: opts.boundPod.name,
                uid: opts.boundPod.uid,
              },
            }
          : {}),
      },
    },
  });
  const token = res.status?.token;
  if (token === undefined || token === "") {
    throw new IrsaError(
      "KUBE_API_UNEXPECTED",
      `TokenRequest for ${namespace}/${serviceAccount} returned no token`,
      "check that the API server runs with --service-account-signing-key-file and --service-account-issuer",
    );
  }
  return { token, expirationTimestamp: res.status?.expirationTimestamp };
}

/**
 * Lets anyone (group system:unauthenticated) read /.well-known/openid-configuration and
 * /openid/v1/jwks, as a relying party such as STS does. Idempotent.
 */
export async function allowAnonymousDiscovery(kc: KubeConfig): Promise<void> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const name = "irsa-anonymous-issuer-discovery";
  try {
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "system:service-account-issuer-discovery",
        },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:unauthenticated" }],
      },
    });
  } catch (e) {
    if (!isConflict(e)) throw e;
  }
}

/** A label selector as plain data (client-node's V1LabelSelector shape). */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    readonly values?: readonly string[];
  }[];
}

export interface WebhookRegistration {
  /** MutatingWebhookConfiguration name. */
  readonly name: string;
  /** The webhook's own name, which must be fully qualified; default `<name>.irsa-anywhere.local`. */
  readonly webhookName?: string;
  /** https://127.0.0.1:<port>/<path>: kube-apiserver calls this URL directly. */
  readonly url: string;
  /** base64 PEM of the CA that issued the webhook's serving cert: `Ca.caBundle` from adapters/pki. */
  readonly caBundle: string;
  /** Default: pods CREATE. */
  readonly rules?: V1MutatingWebhook["rules"];
  /** Default: Fail. */
  readonly failurePolicy?: "Fail" | "Ignore";
  readonly namespaceSelector?: LabelSelector;
  readonly objectSelector?: LabelSelector;
  readonly timeoutSeconds?: number;
  readonly reinvocationPolicy?: "Never" | "IfNeeded";
}

/**
 * Registers a mutating webhook by URL with a caBundle (no Service: there is no kube-proxy).
 * The API server picks new configurations up after a short lag; poll with a probe object.
 */
export async function registerMutatingWebhook(
  kc: KubeConfig,
  w: WebhookRegistration,
): Promise<V1MutatingWebhookConfiguration> {
  return kc.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
    body: {
      metadata: { name: w.name },
      webhooks: [
        {
          name: w.webhookName ?? `${w.name}.irsa-anywhere.local`,
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          clientConfig: { url: w.url, caBundle: w.caBundle },
          rules: w.rules ?? [
            { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "*" },
          ],
          failurePolicy: w.failurePolicy ?? "Fail",
          namespaceSelector: w.namespaceSelector as V1MutatingWebhook["namespaceSelector"],
          objectSelector: w.objectSelector as V1MutatingWebhook["objectSelector"],
          timeoutSeconds: w.timeoutSeconds ?? 10,
          reinvocationPolicy: w.reinvocationPolicy ?? "Never",
        },
      ],
    },
  });
}

export async function deleteMutatingWebhook(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(AdmissionregistrationV1Api).deleteMutatingWebhookConfiguration({ name });
}

/**
 * Creates probe pods from `makePod` until `isMutated` accepts the stored pod: a new webhook
 * configuration reaches the API server's admission chain after a short, unannounced lag.
 * Returns the first mutated pod.
 */
export async function waitForWebhook(
  kc: KubeConfig,
  namespace: string,
  isMutated: (pod: V1Pod) => boolean,
  opts: { makePod?: () => Partial<V1Pod>; timeoutMs?: number } = {},
): Promise<V1Pod> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const pod = await createPod(kc, namespace, opts.makePod?.() ?? {});
      if (isMutated(pod)) return pod;
      last = new Error(`pod ${pod.metadata?.name ?? ""} was stored unmutated`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new IrsaError(
        "PEER_NOT_READY",
        `webhook not active after ${opts.timeoutMs ?? 30_000} ms: ${String(last)}`,
        "check that the webhook is up and that the API server can reach its URL with that caBundle",
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
