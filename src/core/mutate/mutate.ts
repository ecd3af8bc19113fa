/**
 * The pod mutation, pure: a Pod, the settings of its service account and the webhook's config in;
 * a JSON Patch of targeted `add` operations and the patched Pod out. Behaviour follows the
 * pod-identity webhook it replaces (same env vars, volume, mount, label, annotations and
 * precedence), except that it patches only what is missing: a pod that already has everything gets
 * an empty patch, a container with a different volume at the token's mount path gets no mount, and
 * a pod whose own volume has the token volume's name is left unchanged.
 */
import { IrsaError } from "../errors.js";
import {
  ANNOTATIONS,
  DEFAULT_MIN_TOKEN_EXPIRATION,
  DEFAULT_TOKEN_EXPIRATION,
  POD_IDENTITY_LABEL,
  POD_IDENTITY_LABEL_VALUE,
  WEB_IDENTITY_TOKEN_PATH,
  WEB_IDENTITY_VOLUME_NAME,
  validTokenExpiration,
  type WebhookConfig,
} from "./config.js";
import { goJoinPath, parseGoInt64 } from "../go/parse.js";
import { Fields, isObject, typeName, type JsonObject } from "../json.js";
import { applyAddOperations, escapePointerToken, type PatchOperation } from "./patch.js";
import { ENV, containerOps } from "./container.js";
import type { ServiceAccountSettings } from "./service-account.js";

export { ENV };

export type MutationMode = "none" | "web-identity" | "container-credentials";

/** What the mutation injects for one pod, resolved from the settings, the config and the pod. */
export interface PodPatchPlan {
  readonly mode: Exclude<MutationMode, "none">;
  readonly volumeName: string;
  readonly mountPath: string;
  readonly tokenPath: string;
  readonly audience: string;
  readonly tokenExpiration: number;
  readonly useRegionalSts: boolean;
  readonly region: string;
  /** The token file as containers see it (a C:\ path on Windows pods). */
  readonly tokenFile: string;
  /** Env vars of the mode, in the order they are added. */
  readonly credentialEnv: readonly { readonly name: string; readonly value: string }[];
  readonly skipContainers: ReadonlySet<string>;
  readonly windows: boolean;
}

export interface MutationPatch {
  readonly mode: MutationMode;
  /** Empty when the pod already has everything (or is not for this webhook, or `conflict` is set). */
  readonly patch: PatchOperation[];
  readonly plan: PodPatchPlan | undefined;
  /** Why a pod the account asks to mutate is left unchanged (its own volume has the token volume's name). */
  readonly conflict?: string;
}

export interface MutationResult extends MutationPatch {
  /** A copy of the input pod with `patch` applied. */
  readonly pod: JsonObject;
}

const fields = new Fields(
  (path, problem) =>
    new IrsaError(
      "POD_INVALID",
      `invalid pod: ${path}: ${problem}`,
      "give a v1 Pod object as kube-apiserver sends it",
    ),
);

export interface ContainerView {
  readonly name: string;
  /** Env var names; undefined when `env` is absent or null. */
  readonly env: readonly string[] | undefined;
  /** undefined when `volumeMounts` is absent or null. */
  readonly mounts: readonly { readonly name: string; readonly mountPath: string | undefined }[] | undefined;
}

export interface VolumeView {
  readonly name: string;
  /** The serviceAccountToken sources of a projected volume (audience "" when unset). */
  readonly serviceAccountTokens: readonly { readonly audience: string; readonly path: string }[];
}

export interface PodView {
  readonly hasMetadata: boolean;
  readonly annotations: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** undefined when `volumes` is absent or null. */
  readonly volumes: readonly VolumeView[] | undefined;
  readonly containers: readonly ContainerView[];
  readonly initContainers: readonly ContainerView[];
}

function readContainers(spec: JsonObject, key: string): ContainerView[] {
  const list = fields.optArray(spec, key, "spec") ?? [];
  return list.map((_, i) => {
    const path = `spec.${key}[${i}]`;
    const c = fields.element(list, i, `spec.${key}`);
    const name = fields.reqString(c, "name", path);
    const envList = fields.optArray(c, "env", path);
    const env = envList?.map((_e, j) => {
      const entry = fields.element(envList, j, `${path}.env`);
      return fields.reqString(entry, "name", `${path}.env[${j}]`);
    });
    const mountList = fields.optArray(c, "volumeMounts", path);
    const mounts = mountList?.map((_m, j) => {
      const mount = fields.element(mountList, j, `${path}.volumeMounts`);
      const mpath = `${path}.volumeMounts[${j}]`;
      return {
        name: fields.reqString(mount, "name", mpath),
        mountPath: fields.optString(mount, "mountPath", mpath),
      };
    });
    return { name, env, mounts };
  });
}

/** A projected volume's serviceAccountToken sources, read leniently (other shapes have none). */
function serviceAccountTokens(volume: JsonObject): VolumeView["serviceAccountTokens"] {
  const projected = volume.projected;
  if (!isObject(projected) || !Array.isArray(projected.sources)) return [];
  return projected.sources.flatMap((source: unknown) => {
    const t = isObject(source) ? source.serviceAccountToken : undefined;
    if (!isObject(t)) return [];
    const str = (v: unknown): string => (typeof v === "string" ? v : "");
    return [{ audience: str(t.audience), path: str(t.path) }];
  });
}

/** Checks the parts of the pod the mutation reads or writes, naming the first bad field. */
export function readPod(pod: unknown): PodView {
  if (!isObject(pod)) throw fields.fail("(root)", `expected an object, got ${typeName(pod)}`);
  const kind = fields.optString(pod, "kind", "");
  if (kind !== undefined && kind !== "Pod")
    throw fields.fail("kind", `expected Pod, got ${JSON.stringify(kind)}`);
  const metadata = fields.optObject(pod, "metadata", "");
  const spec = fields.optObject(pod, "spec", "");
  if (spec === undefined) throw fields.fail("spec", "required object is missing");
  const volumeList = fields.optArray(spec, "volumes", "spec");
  return {
    hasMetadata: metadata !== undefined,
    annotations: (metadata && fields.optStringMap(metadata, "annotations", "metadata")) ?? {},
    labels: metadata && fields.optStringMap(metadata, "labels", "metadata"),
    nodeSelector: fields.optStringMap(spec, "nodeSelector", "spec") ?? {},
    volumes: volumeList?.map((_, i) => {
      const volume = fields.element(volumeList, i, "spec.volumes");
      return {
        name: fields.reqString(volume, "name", `spec.volumes[${i}]`),
        serviceAccountTokens: serviceAccountTokens(volume),
      };
    }),
    containers: readContainers(spec, "containers"),
    initContainers: readContainers(spec, "initContainers"),
  };
}

/** The pod's service account: spec.serviceAccountName, else the deprecated spec.serviceAccount, else "default". */
export function podServiceAccountName(pod: unknown): string {
  const spec = isObject(pod) ? pod.spec : undefined;
  if (!isObject(spec)) return "default";
  for (const key of ["serviceAccountName", "serviceAccount"]) {
    const v = spec[key];
    if (typeof v === "string" && v !== "") return v;
  }
  return "default";
}

function annotation(pod: PodView, config: WebhookConfig, name: string): string | undefined {
  const key = `${config.annotationPrefix}/${name}`;
  return Object.hasOwn(pod.annotations, key) ? pod.annotations[key] : undefined;
}

/**
 * `<prefix>/skip-containers`: container names separated by commas, spaces or line breaks, each may
 * be in double quotes. Upstream takes the first record of Go's encoding/csv, so after "a, b" it
 * skips " b" (no container is named that), ignores a second line, and skips nothing at all when a
 * quote is misplaced: credentials went to the containers the pod asked to leave out. Container
 * names are DNS labels (no comma, quote or space), so every name upstream skips is skipped here.
 */
function skipContainers(pod: PodView, config: WebhookConfig): ReadonlySet<string> {
  const value = annotation(pod, config, ANNOTATIONS.skipContainers) ?? "";
  const names = value.split(/[\s,]+/).map((n) => n.replace(/^"|"$/g, ""));
  return new Set(names.filter((n) => n !== ""));
}

/** Pod annotation `<prefix>/token-expiration` overrides the account's, when it parses. */
function podTokenExpiration(pod: PodView, config: WebhookConfig, fromAccount: number): number {
  const value = annotation(pod, config, ANNOTATIONS.tokenExpiration);
  const parsed = value === undefined ? undefined : parseGoInt64(value);
  return parsed === undefined ? validTokenExpiration(fromAccount) : validTokenExpiration(parsed);
}

function jittered(seconds: number, config: WebhookConfig): number {
  if (seconds !== DEFAULT_TOKEN_EXPIRATION) return seconds;
  const bound = DEFAULT_TOKEN_EXPIRATION - DEFAULT_MIN_TOKEN_EXPIRATION + 1;
  const j = Math.floor(config.jitter(bound));
  return DEFAULT_MIN_TOKEN_EXPIRATION + Math.min(bound - 1, Math.max(0, Number.isFinite(j) ? j : 0));
}

/** The web-identity token file of a config (Linux pods), joined once per config. */
const tokenFiles = new WeakMap<WebhookConfig, string>();
function webIdentityTokenFile(config: WebhookConfig): string {
  let file = tokenFiles.get(config);
  if (file === undefined) {
    file = goJoinPath(config.tokenMountPath, WEB_IDENTITY_TOKEN_PATH);
    tokenFiles.set(config, file);
  }
  return file;
}

/** Decides the mode and what to inject; undefined when the pod is not for this webhook. */
export function planPodPatch(
  pod: PodView,
  sa: ServiceAccountSettings,
  config: WebhookConfig,
): PodPatchPlan | undefined {
  const cc = sa.containerCredentials;
  if (cc === undefined && sa.roleArn === "") return undefined;
  const windows =
    pod.nodeSelector["kubernetes.io/os"] === "windows" ||
    pod.nodeSelector["beta.kubernetes.io/os"] === "windows";
  const common = {
    useRegionalSts: sa.useRegionalSts,
    region: config.awsDefaultRegion,
    skipContainers: skipContainers(pod, config),
    windows,
  };
  const tokenFileFor = (mountPath: string, tokenPath: string): string => {
    const unix = goJoinPath(mountPath, tokenPath);
    return windows ? `C:${unix.replace(/\//g, "\\")}` : unix;
  };
  // Container credentials take precedence over a role ARN.
  if (cc !== undefined) {
    const tokenFile = tokenFileFor(cc.mountPath, cc.tokenPath);
    return {
      ...common,
      mode: "container-credentials",
      volumeName: cc.volumeName,
      mountPath: cc.mountPath,
      tokenPath: cc.tokenPath,
      audience: cc.audience,
      tokenExpiration: jittered(podTokenExpiration(pod, config, sa.tokenExpiration), config),
      tokenFile,
      credentialEnv: [
        { name: ENV.containerCredentialsFullUri, value: cc.fullUri },
        { name: ENV.containerAuthorizationTokenFile, value: tokenFile },
      ],
    };
  }
  const tokenFile = windows
    ? tokenFileFor(config.tokenMountPath, WEB_IDENTITY_TOKEN_PATH)
    : webIdentityTokenFile(config);
  return {
    ...common,
    mode: "web-identity",
    volumeName: WEB_IDENTITY_VOLUME_NAME,
    mountPath: config.tokenMountPath,
    tokenPath: WEB_IDENTITY_TOKEN_PATH,
    audience: sa.audience,
    tokenExpiration: podTokenExpiration(pod, config, sa.tokenExpiration),
    tokenFile,
    credentialEnv: [
      { name: ENV.roleArn, value: sa.roleArn },
      { name: ENV.webIdentityTokenFile, value: tokenFile },
    ],
  };
}

/**
 * Why the pod cannot be given `plan`: it has a volume of the token volume's name that is not the
 * projected service account token for the plan's audience and path (a hostPath, a secret, a token
 * for another audience). Upstream (#315) skips adding its volume then but still points every
 * container's env and mount at that volume, so the SDKs read the wrong file and fall back to the
 * node's role. undefined when there is no such volume, or it is the token volume (a previous pass).
 */
export function tokenVolumeConflict(pod: PodView, plan: PodPatchPlan): string | undefined {
  const volume = pod.volumes?.find((v) => v.name === plan.volumeName);
  if (volume === undefined) return undefined;
  const ours = volume.serviceAccountTokens.some(
    (t) => t.audience === plan.audience && t.path === plan.tokenPath,
  );
  if (ours) return undefined;
  return (
    `the pod's own volume "${plan.volumeName}" is not a projected service account token for audience ` +
    `${JSON.stringify(plan.audience)} and path ${JSON.stringify(plan.tokenPath)}: pod not mutated (rename that volume)`
  );
}

/**
 * The JSON Patch that gives `pod` what `plan` injects, and nothing it already has. The caller has
 * checked that there is no `tokenVolumeConflict` (with one, the patch is empty).
 */
function podPatch(pod: PodView, plan: PodPatchPlan): PatchOperation[] {
  const ops: PatchOperation[] = [];
  if (plan.mode === "container-credentials") {
    const label = { [POD_IDENTITY_LABEL]: POD_IDENTITY_LABEL_VALUE };
    if (!pod.hasMetadata) ops.push({ op: "add", path: "/metadata", value: { labels: label } });
    else if (pod.labels === undefined) ops.push({ op: "add", path: "/metadata/labels", value: label });
    else if (pod.labels[POD_IDENTITY_LABEL] !== POD_IDENTITY_LABEL_VALUE) {
      ops.push({
        op: "add",
        path: `/metadata/labels/${escapePointerToken(POD_IDENTITY_LABEL)}`,
        value: POD_IDENTITY_LABEL_VALUE,
      });
    }
  }
  if (!(pod.volumes ?? []).some((v) => v.name === plan.volumeName)) {
    const volume = {
      name: plan.volumeName,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: plan.audience,
              expirationSeconds: plan.tokenExpiration,
              path: plan.tokenPath,
            },
          },
        ],
      },
    };
    // First in the list, as upstream puts it.
    if (pod.volumes === undefined) ops.push({ op: "add", path: "/spec/volumes", value: [volume] });
    else ops.push({ op: "add", path: "/spec/volumes/0", value: volume });
  }
  pod.containers.forEach((c, i) => ops.push(...containerOps(c, `/spec/containers/${i}`, plan)));
  pod.initContainers.forEach((c, i) => ops.push(...containerOps(c, `/spec/initContainers/${i}`, plan)));
  return ops;
}

/**
 * Mutates a pod for its service account: web identity (IRSA) when the account has a role ARN,
 * container credentials (EKS Pod Identity) when it is listed for them (that mode wins), otherwise
 * nothing. Throws IrsaError POD_INVALID, naming the field, when the pod is malformed.
 */
export function mutatePod(pod: unknown, sa: ServiceAccountSettings, config: WebhookConfig): MutationResult {
  const result = mutationPatch(pod, sa, config);
  const copy = structuredClone(pod) as JsonObject;
  applyAddOperations(copy, result.patch);
  return { ...result, pod: copy };
}

/**
 * The patch alone, without building the mutated pod: what the admission webhook answers with.
 * Same validation and errors as mutatePod; the input is not modified.
 */
export function mutationPatch(
  pod: unknown,
  sa: ServiceAccountSettings,
  config: WebhookConfig,
): MutationPatch {
  const view = readPod(pod);
  const plan = planPodPatch(view, sa, config);
  if (plan === undefined) return { mode: "none", patch: [], plan };
  const conflict = tokenVolumeConflict(view, plan);
  if (conflict !== undefined) return { mode: plan.mode, patch: [], plan, conflict };
  return { mode: plan.mode, patch: podPatch(view, plan), plan };
}
