/**
 * The decision for one pod CREATE: which service account, how long to wait for it, then the pure
 * mutation core. The only I/O is the injected cache lookup (and the container-credentials set,
 * read by the caller), so this is table-testable with a fake cache.
 */
import { ANNOTATIONS, type WebhookConfig } from "../core/mutate/config.js";
import { parseGoInt64 } from "../core/go/parse.js";
import {
  configMapEntry,
  defaultServiceAccountSettings,
  mutationPatch,
  podServiceAccountName,
  roleArnWarning,
  serviceAccountSettingsFromAnnotations,
  type ComposeRoleArn,
  type ConfigMapEntries,
  type ServiceAccountSettings,
} from "../core/mutate/index.js";
import type { PodCreateRequest } from "../core/admission.js";
import type { LookupResult } from "./sa-cache.js";
import type { PodDecision } from "./server.js";

/** Pod annotation (under the prefix): its own grace period in milliseconds, as upstream reads it. */
export const GRACE_PERIOD_ANNOTATION = "service-account-lookup-grace-period";

/**
 * Default --service-account-lookup-grace-period: 1 s. A miss happens only for an account created
 * moments before its pod; the direct GET answers that in milliseconds, so the wait is normally
 * far shorter. 1 s covers a slow API server yet stays well inside the webhook's 10 s timeout.
 * (Upstream: 100 ms, with no GET, which is what left such pods unmutated.)
 */
export const DEFAULT_GRACE_PERIOD_MS = 1000;

/**
 * The longest a review may wait, whatever a pod's annotation asks: kube-apiserver's largest webhook
 * timeout (timeoutSeconds is at most 30). Also keeps the timer within what Node's setTimeout takes.
 */
export const MAX_GRACE_PERIOD_MS = 30_000;

/**
 * The most JSON Patch operations one answer may carry. The patch grows with the containers (about
 * two operations, 400 bytes, each): a 650 KB review whose pod had 50,000 tiny containers made a
 * 20 MB patch, and a few of them at once took the process past its memory limit. 4,096 operations
 * (about 2,000 containers, under 1 MB) is far beyond any real pod.
 */
export const MAX_PATCH_OPERATIONS = 4096;

/** Operations the patch needs per container, at most (env and volumeMounts), and for the pod. */
const OPS_PER_CONTAINER = 2;
const OPS_PER_POD = 2;

function containerCount(pod: Readonly<Record<string, unknown>>): number {
  const spec = pod.spec;
  if (typeof spec !== "object" || spec === null) return 0;
  const { containers, initContainers } = spec as { containers?: unknown; initContainers?: unknown };
  return (
    (Array.isArray(containers) ? containers.length : 0) +
    (Array.isArray(initContainers) ? initContainers.length : 0)
  );
}

function overLimit(name: string, containers: number, operations: number): PodDecision {
  const why = `its ${containers} containers would need about ${operations} patch operations, over the webhook's limit of ${MAX_PATCH_OPERATIONS}`;
  return {
    patch: [],
    reason: `over the patch limit: ${why}`,
    warnings: [`irsa webhook: pod not mutated: ${why}`],
    fields: { serviceAccount: name, containers, operations },
    overLimit: true,
  };
}

/** Margin kept between our wait and kube-apiserver's deadline for the call, to answer in time. */
export const DEADLINE_MARGIN_MS = 250;

function podAnnotation(pod: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const meta = pod.metadata;
  if (typeof meta !== "object" || meta === null) return undefined;
  const annotations = (meta as { annotations?: unknown }).annotations;
  if (typeof annotations !== "object" || annotations === null) return undefined;
  const v = (annotations as Record<string, unknown>)[key];
  return typeof v === "string" ? v : undefined;
}

/**
 * How long to wait for a missing account: the pod's annotation (ms) when it parses, else the flag;
 * never past kube-apiserver's deadline for this call (less a margin) nor MAX_GRACE_PERIOD_MS, never
 * negative.
 */
export function gracePeriodFor(
  pod: Readonly<Record<string, unknown>>,
  prefix: string,
  flagMs: number,
  budgetMs: number | undefined,
): number {
  const raw = podAnnotation(pod, `${prefix}/${GRACE_PERIOD_ANNOTATION}`);
  const fromPod = raw === undefined ? undefined : parseGoInt64(raw);
  let grace = Math.min(fromPod ?? flagMs, MAX_GRACE_PERIOD_MS);
  if (budgetMs !== undefined) grace = Math.min(grace, budgetMs - DEADLINE_MARGIN_MS);
  return Math.max(0, grace);
}

export interface Lookup {
  lookup(namespace: string, name: string, graceMs: number): Promise<LookupResult>;
}

export interface AdmitterOptions {
  readonly config: WebhookConfig;
  readonly cache: Lookup;
  /** --service-account-lookup-grace-period in milliseconds. */
  readonly gracePeriodMs: number;
  /** "namespace/name" of the accounts listed for container credentials (current file contents). */
  readonly containerCredentials?: () => ReadonlySet<string>;
  /** --compose-role-arn: a bare role name or path in role-arn becomes a full ARN. */
  readonly composeRoleArn?: ComposeRoleArn;
  /** --watch-config-map: the ConfigMap's entries, for accounts without a role-arn annotation. */
  readonly configMap?: () => ConfigMapEntries;
}

export type PodAdmitter = (req: PodCreateRequest, budgetMs?: number) => Promise<PodDecision>;

/** The admission decision for pod CREATEs: lookup (maybe waiting), then the pure mutation. */
export function podAdmitter(opts: AdmitterOptions): PodAdmitter {
  const { config } = opts;
  return async (req, budgetMs) => {
    const pod = req.object;
    const namespace = req.namespace;
    const name = podServiceAccountName(pod);
    // Refused before anything is built: the bound is on the memory one review can take.
    const containers = containerCount(pod);
    const estimate = containers * OPS_PER_CONTAINER + OPS_PER_POD;
    if (estimate > MAX_PATCH_OPERATIONS) return overLimit(name, containers, estimate);
    const listed = opts.containerCredentials?.().has(`${namespace}/${name}`) ?? false;
    // Container-credentials mode is decided by the file; the account's annotations only tune it,
    // so use them if cached but never wait for them.
    const grace = listed ? 0 : gracePeriodFor(pod, config.annotationPrefix, opts.gracePeriodMs, budgetMs);
    const found = await opts.cache.lookup(namespace, name, grace);
    const saOptions = { containerCredentials: listed, composeRoleArn: opts.composeRoleArn };
    let settings: ServiceAccountSettings =
      found.annotations === undefined
        ? defaultServiceAccountSettings(config, saOptions)
        : serviceAccountSettingsFromAnnotations(found.annotations, config, saOptions);
    // As upstream's cache: the account's own role ARN wins, then its ConfigMap entry.
    const fromConfigMap =
      settings.roleArn === "" && opts.configMap !== undefined
        ? configMapEntry(opts.configMap(), namespace, name)
        : undefined;
    if (fromConfigMap !== undefined) {
      const cc = settings.containerCredentials;
      settings = { ...fromConfigMap, ...(cc !== undefined && { containerCredentials: cc }) };
    }
    const result = mutationPatch(pod, settings, config);
    if (result.patch.length > MAX_PATCH_OPERATIONS) return overLimit(name, containers, result.patch.length);
    const warnings: string[] = [];
    const fields = { serviceAccount: name, mode: result.mode, lookup: found.via, graceMs: grace };
    let reason: string;
    if (result.mode === "none") {
      if (found.annotations !== undefined || fromConfigMap !== undefined) {
        reason = `service account has no ${config.annotationPrefix}/${ANNOTATIONS.roleArn} annotation`;
      } else if (found.via === "miss") {
        reason = `service account not found within ${grace} ms`;
        warnings.push(
          `irsa webhook: service account ${namespace}/${name} not found within ${grace} ms; pod not mutated`,
        );
      } else {
        reason = `service account not in the cache (${found.via})`;
      }
    } else if (result.conflict !== undefined) {
      reason = `${result.mode}: ${result.conflict}`;
      warnings.push(`irsa webhook: ${result.conflict}`);
    } else {
      reason = result.patch.length === 0 ? `${result.mode}: pod already has everything` : result.mode;
      const arnWarning = result.mode === "web-identity" ? roleArnWarning(settings.roleArn) : undefined;
      if (arnWarning !== undefined) warnings.push(`irsa webhook: ${arnWarning}`);
    }
    return { patch: result.patch, reason, warnings, fields, lookup: found.via };
  };
}
