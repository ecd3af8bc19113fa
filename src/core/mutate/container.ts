/**
 * What one container gets: the env vars it lacks and the token mount, or nothing at all when it is
 * skipped or already configures its own credentials (upstream's rule, `addEnvToContainer` in
 * pkg/handler/handler.go).
 */
import type { PatchOperation } from "./patch.js";
import type { ContainerView, PodPatchPlan } from "./mutate.js";

export const ENV = {
  roleArn: "AWS_ROLE_ARN",
  webIdentityTokenFile: "AWS_WEB_IDENTITY_TOKEN_FILE",
  containerCredentialsFullUri: "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  containerAuthorizationTokenFile: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  region: "AWS_REGION",
  defaultRegion: "AWS_DEFAULT_REGION",
  stsRegionalEndpoints: "AWS_STS_REGIONAL_ENDPOINTS",
} as const;

/**
 * Upstream's rule: a container whose `env` already names one of the mode's credential variables
 * (AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE; AWS_CONTAINER_CREDENTIALS_FULL_URI or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE), a region variable (AWS_REGION or AWS_DEFAULT_REGION)
 * and AWS_STS_REGIONAL_ENDPOINTS was configured by hand: it gets no env and no mount, whatever the
 * webhook's region and regional-STS settings (its own mount at the token path is often already
 * there, and a second one makes kube-apiserver refuse the pod).
 */
export function configuresOwnCredentials(env: readonly string[], plan: PodPatchPlan): boolean {
  const has = new Set(env);
  return (
    plan.credentialEnv.some((e) => has.has(e.name)) &&
    (has.has(ENV.region) || has.has(ENV.defaultRegion)) &&
    has.has(ENV.stsRegionalEndpoints)
  );
}

/** The env entries a container lacks, in upstream's order; a group already partly present is left alone. */
function missingEnv(env: readonly string[], plan: PodPatchPlan): { name: string; value: string }[] {
  const has = new Set(env);
  const out: { name: string; value: string }[] = [];
  if (plan.useRegionalSts && !has.has(ENV.stsRegionalEndpoints)) {
    out.push({ name: ENV.stsRegionalEndpoints, value: "regional" });
  }
  if (plan.region !== "" && !has.has(ENV.region) && !has.has(ENV.defaultRegion)) {
    out.push({ name: ENV.defaultRegion, value: plan.region }, { name: ENV.region, value: plan.region });
  }
  if (!plan.credentialEnv.some((e) => has.has(e.name)))
    out.push(...plan.credentialEnv.map((e) => ({ ...e })));
  return out;
}

/** The patch for the container at JSON Pointer `base`. */
export function containerOps(c: ContainerView, base: string, plan: PodPatchPlan): PatchOperation[] {
  if (plan.skipContainers.has(c.name)) return [];
  if (configuresOwnCredentials(c.env ?? [], plan)) return [];
  const ops: PatchOperation[] = [];
  const env = missingEnv(c.env ?? [], plan);
  if (env.length > 0) {
    if (c.env === undefined) ops.push({ op: "add", path: `${base}/env`, value: env });
    else for (const e of env) ops.push({ op: "add", path: `${base}/env/-`, value: e });
  }
  const mounts = c.mounts ?? [];
  // A mount of the volume is kept whatever its path (as upstream). A different volume already
  // mounted at the token's path is kept too: a second mount there would make the pod invalid.
  if (!mounts.some((m) => m.name === plan.volumeName || m.mountPath === plan.mountPath)) {
    const mount = { name: plan.volumeName, readOnly: true, mountPath: plan.mountPath };
    if (c.mounts === undefined) ops.push({ op: "add", path: `${base}/volumeMounts`, value: [mount] });
    else ops.push({ op: "add", path: `${base}/volumeMounts/-`, value: mount });
  }
  return ops;
}
