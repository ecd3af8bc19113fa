/** Applying IRSA's IAM objects: what the pure IAM core plans, done with the IAM adapter. */
import {
  partitionOfRegion,
  planProvider,
  planRole,
  providerArn,
  providerChanges,
  roleArn,
  roleChanges,
  type Change,
  type Partition,
  type RoleWant,
} from "../../core/iam/index.js";
import { IrsaError } from "../../core/errors.js";
import { IamApi, type AwsOptions } from "./iam.js";

/** The account and partition: as given, else the caller's (GetCallerIdentity) and the region's. */
export async function resolveAccount(
  given: { readonly accountId: string | undefined; readonly partition: Partition | undefined },
  aws: AwsOptions,
  api?: IamApi,
): Promise<{ accountId: string; partition: Partition }> {
  const region = aws.region ?? process.env["AWS_REGION"] ?? process.env["AWS_DEFAULT_REGION"];
  const partition = given.partition ?? partitionOfRegion(region);
  if (given.accountId !== undefined) return { accountId: given.accountId, partition };
  return { accountId: await (api ?? new IamApi(aws)).accountId(), partition };
}

export interface ApplyResult {
  readonly arn: string;
  readonly created: boolean;
  readonly changed: boolean;
  readonly dryRun: boolean;
  /** What was changed, or with dryRun what would be. */
  readonly changes: readonly Change[];
}

export interface ProviderInput {
  /** `host/path` of the issuer (iamIssuer). */
  readonly issuer: string;
  readonly partition: Partition;
  readonly accountId: string;
  readonly clientIds: readonly string[];
  readonly thumbprints: readonly string[];
  readonly prune: boolean;
  readonly dryRun: boolean;
  /**
   * Computes the issuer's thumbprint: called only to create the provider when no thumbprint is
   * given, so that tools which need one find it there.
   */
  readonly computeThumbprint?: (() => Promise<string>) | undefined;
}

/** Creates the issuer's OIDC provider, or brings the existing one to what is wanted. */
export async function applyProvider(api: IamApi, input: ProviderInput): Promise<ApplyResult> {
  const arn = providerArn(input.partition, input.accountId, input.issuer);
  const url = `https://${input.issuer}`;
  const current = await api.getProvider(arn);
  let thumbprints = input.thumbprints;
  if (current === undefined && thumbprints.length === 0 && input.computeThumbprint !== undefined) {
    thumbprints = [await input.computeThumbprint()];
  }
  const want = { clientIds: input.clientIds, thumbprints };
  const plan = planProvider(current, want, input.prune);
  const changes = providerChanges(url, plan);
  if (input.dryRun || !plan.changed) {
    return { arn, created: false, changed: plan.changed, dryRun: input.dryRun, changes };
  }
  if (plan.create) {
    const created = await api.createProvider(url, {
      clientIds: plan.addClientIds,
      thumbprints: plan.setThumbprints ?? [],
    });
    return { arn: created === "" ? arn : created, created: true, changed: true, dryRun: false, changes };
  }
  for (const c of plan.addClientIds) await api.addClientId(arn, c);
  for (const c of plan.removeClientIds) await api.removeClientId(arn, c);
  if (plan.setThumbprints !== undefined) await api.setThumbprints(arn, plan.setThumbprints);
  return { arn, created: false, changed: true, dryRun: false, changes };
}

export interface RoleInput extends RoleWant {
  readonly name: string;
  readonly partition: Partition;
  readonly accountId: string;
  /** The provider the trust policy names: checked to exist first (IAM refuses the policy otherwise). */
  readonly providerArn: string;
  readonly dryRun: boolean;
}

export interface RoleResult extends ApplyResult {
  /** Set when the provider the trust policy names does not exist (dry runs only; else an error). */
  readonly missingProvider: boolean;
}

/** Creates the role or brings it to the trust policy, session length and policies wanted. */
export async function applyRole(api: IamApi, input: RoleInput): Promise<RoleResult> {
  const missingProvider = (await api.getProvider(input.providerArn)) === undefined;
  if (missingProvider && !input.dryRun) {
    throw new IrsaError(
      "IAM_FAILED",
      `the OIDC provider ${input.providerArn} does not exist, and IAM refuses a trust policy that names it`,
      "create it first with irsa iam provider apply --issuer URL",
    );
  }
  const current = await api.getRole(input.name);
  const plan = planRole(current, input);
  const changes = roleChanges(input.name, plan, input, current);
  const arn = current?.arn ?? roleArn(input.partition, input.accountId, input.name);
  const result = {
    created: plan.create,
    changed: plan.changed,
    dryRun: input.dryRun,
    changes,
    missingProvider,
  };
  if (input.dryRun || !plan.changed) return { ...result, arn, created: false };
  let finalArn = arn;
  if (plan.create) {
    const created = await api.createRole(input.name, input.trustPolicy, input.maxSessionDuration);
    if (created !== "") finalArn = created;
  }
  if (plan.updateTrustPolicy) await api.updateTrustPolicy(input.name, input.trustPolicy);
  if (plan.setMaxSessionDuration !== undefined) {
    await api.updateMaxSessionDuration(input.name, plan.setMaxSessionDuration);
  }
  for (const p of plan.attach) await api.attach(input.name, p);
  return { ...result, arn: finalArn };
}
