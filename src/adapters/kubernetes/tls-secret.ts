/**
 * The two objects the webhook's own TLS touches, each by name: its Secret (create-if-absent, and
 * updates guarded by resourceVersion) and its MutatingWebhookConfiguration (the caBundle, by a
 * JSON Patch guarded by a test of resourceVersion). A lost race (409, or 422 for a failed test op)
 * is an answer, not an error: the caller re-reads and adopts what won.
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
 * client-node's models are plain-data classes; object literals are what goes over the wire. */
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from "@kubernetes/client-node";
import { IrsaError } from "../../core/errors.js";
import {
  writeOutcome,
  type JsonPatchOp,
  type WebhookConfigCaBundles,
  type WriteOutcome,
} from "../../core/tls/managed.js";

/** A Secret's data (decoded to text) and what guards an update of it. */
export interface SecretState {
  readonly resourceVersion: string;
  /** An update keeps it: the API server refuses to change a Secret's type. */
  readonly type: string;
  readonly data: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface SecretWrite {
  readonly data: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** kubernetes.io/tls for a new Secret; an existing one's own type on update. */
  readonly type: string;
}

export interface TlsObjects {
  readSecret(): Promise<SecretState | undefined>;
  /** Create if absent: "lost-race" when it exists already. */
  createSecret(w: SecretWrite): Promise<WriteOutcome>;
  /** Replace, only if the Secret is still at `resourceVersion`. */
  updateSecret(resourceVersion: string, w: SecretWrite): Promise<WriteOutcome>;
  readWebhookConfig(): Promise<WebhookConfigCaBundles | undefined>;
  patchWebhookConfig(ops: readonly JsonPatchOp[]): Promise<WriteOutcome>;
}

const statusOf = (e: unknown): number | undefined => {
  const code = (e as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
};

function apiError(e: unknown, what: string, rbac: string): IrsaError {
  const status = statusOf(e);
  const hint =
    status === 403
      ? `grant the webhook's ServiceAccount ${rbac} (the chart's RBAC does)`
      : "check that the API server is reachable and the names are right";
  return new IrsaError(
    "KUBE_API_UNEXPECTED",
    `${what} failed${status === undefined ? "" : ` (HTTP ${status})`}: ${(e as Error).message.split("\n")[0] ?? ""}`,
    hint,
    { cause: e },
  );
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string): string => Buffer.from(s, "base64").toString("utf8");

export function kubeTlsObjects(
  kc: KubeConfig,
  names: { readonly namespace: string; readonly secret: string; readonly webhookConfig: string },
): TlsObjects {
  const core = kc.makeApiClient(CoreV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const { namespace, secret: name } = names;
  const secretWhere = `Secret ${namespace}/${name}`;
  const outcome = (e: unknown, what: string, rbac: string, guardedPatch = false): WriteOutcome => {
    const status = statusOf(e);
    const o = status === undefined ? undefined : writeOutcome(status, guardedPatch);
    if (o === "lost-race") return o;
    throw apiError(e, what, rbac);
  };
  const body = (w: SecretWrite, resourceVersion?: string) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace,
      annotations: { ...w.annotations },
      labels: { "app.kubernetes.io/managed-by": "irsa-webhook" },
      ...(resourceVersion !== undefined && { resourceVersion }),
    },
    type: w.type,
    data: Object.fromEntries(Object.entries(w.data).map(([k, v]) => [k, b64(v)])),
  });
  return {
    async readSecret() {
      try {
        const s = await core.readNamespacedSecret({ namespace, name });
        return {
          resourceVersion: s.metadata?.resourceVersion ?? "",
          type: s.type ?? "Opaque",
          data: Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, unb64(v)])),
          annotations: s.metadata?.annotations ?? {},
        };
      } catch (e) {
        if (statusOf(e) === 404) return undefined;
        throw apiError(e, `reading ${secretWhere}`, `get on secrets/${name} in ${namespace}`);
      }
    },
    async createSecret(w) {
      try {
        await core.createNamespacedSecret({ namespace, body: body(w) });
        return "written";
      } catch (e) {
        return outcome(e, `creating ${secretWhere}`, `create on secrets in ${namespace}`);
      }
    },
    async updateSecret(resourceVersion, w) {
      try {
        const current = body(w, resourceVersion);
        await core.replaceNamespacedSecret({ namespace, name, body: current });
        return "written";
      } catch (e) {
        return outcome(e, `updating ${secretWhere}`, `update on secrets/${name} in ${namespace}`);
      }
    },
    async readWebhookConfig() {
      try {
        const c = await admission.readMutatingWebhookConfiguration({ name: names.webhookConfig });
        return {
          name: names.webhookConfig,
          resourceVersion: c.metadata?.resourceVersion,
          caBundles: (c.webhooks ?? []).map((w) => w.clientConfig.caBundle),
        };
      } catch (e) {
        if (statusOf(e) === 404) return undefined;
        throw apiError(
          e,
          `reading MutatingWebhookConfiguration ${names.webhookConfig}`,
          `get on mutatingwebhookconfigurations/${names.webhookConfig}`,
        );
      }
    },
    async patchWebhookConfig(ops) {
      try {
        await admission.patchMutatingWebhookConfiguration(
          { name: names.webhookConfig, body: ops },
          setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
        );
        return "written";
      } catch (e) {
        return outcome(
          e,
          `patching the caBundle of MutatingWebhookConfiguration ${names.webhookConfig}`,
          `patch on mutatingwebhookconfigurations/${names.webhookConfig}`,
          true,
        );
      }
    },
  };
}
