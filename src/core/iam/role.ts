/**
 * What to change on an IRSA role so that it has the trust policy, session length and policies we
 * want, the kubectl lines that point ServiceAccounts at it, and the changes of a plan as the IAM
 * actions that make them. Pure.
 */
import { IrsaError } from "../errors.js";
import { checkAccountId, type Partition } from "./arn.js";
import type { ProviderPlan } from "./provider.js";
import { DEFAULT_AUDIENCE, type ServiceAccountRef } from "./trust-policy.js";

export interface RoleState {
  readonly arn: string;
  /** The trust policy as IAM stores it, parsed. */
  readonly trustPolicy: unknown;
  readonly maxSessionDuration: number | undefined;
  /** ARNs of the managed policies attached. */
  readonly attached: readonly string[];
}

export interface RoleWant {
  readonly trustPolicy: unknown;
  /** Seconds; undefined keeps what the role has (IAM's default, 3600, on create). */
  readonly maxSessionDuration: number | undefined;
  readonly policyArns: readonly string[];
}

export interface RolePlan {
  readonly create: boolean;
  readonly updateTrustPolicy: boolean;
  /** On an existing role: the new maximum session duration, or undefined to keep it. */
  readonly setMaxSessionDuration: number | undefined;
  /** Policies to attach (never detached: others may have attached them). */
  readonly attach: readonly string[];
  readonly changed: boolean;
}

/** One change, as the IAM action that makes it. */
export interface Change {
  readonly action: string;
  readonly detail: string;
}

export const MIN_SESSION_SECONDS = 3600;
export const MAX_SESSION_SECONDS = 43200;

export function checkMaxSessionDuration(raw: string, flag = "--max-session-duration"): number {
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= MIN_SESSION_SECONDS && n <= MAX_SESSION_SECONDS)) {
    throw new IrsaError(
      "INPUT_INVALID",
      `${flag} "${raw}" is not a whole number of seconds from ${MIN_SESSION_SECONDS} to ${MAX_SESSION_SECONDS}`,
      `pass seconds, such as ${flag} 7200 for two hours (IAM allows 1 to 12 hours)`,
    );
  }
  return n;
}

/**
 * A policy in a canonical form: object keys sorted, and a one-element array the same as its
 * element (IAM may give back either). Two policies mean the same when their forms are equal.
 */
export function canonicalPolicy(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(canonicalPolicy);
    return items.length === 1 ? items[0] : items;
  }
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonicalPolicy((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

export function samePolicy(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonicalPolicy(a)) === JSON.stringify(canonicalPolicy(b));
}

export function planRole(current: RoleState | undefined, want: RoleWant): RolePlan {
  const policyArns = [...new Set(want.policyArns)];
  if (current === undefined) {
    return {
      create: true,
      updateTrustPolicy: false,
      setMaxSessionDuration: undefined,
      attach: policyArns,
      changed: true,
    };
  }
  const updateTrustPolicy = !samePolicy(current.trustPolicy, want.trustPolicy);
  const setMaxSessionDuration =
    want.maxSessionDuration !== undefined && want.maxSessionDuration !== current.maxSessionDuration
      ? want.maxSessionDuration
      : undefined;
  const attach = policyArns.filter((p) => !current.attached.includes(p));
  return {
    create: false,
    updateTrustPolicy,
    setMaxSessionDuration,
    attach,
    changed: updateTrustPolicy || setMaxSessionDuration !== undefined || attach.length > 0,
  };
}

export function roleArn(partition: Partition, account: string, name: string): string {
  return `arn:${partition}:iam::${checkAccountId(account)}:role/${name}`;
}

export function roleChanges(
  name: string,
  plan: RolePlan,
  want: RoleWant,
  current: RoleState | undefined,
): Change[] {
  const changes: Change[] = [];
  if (plan.create) {
    const msd = want.maxSessionDuration === undefined ? "" : `, max session ${want.maxSessionDuration} s`;
    changes.push({ action: "CreateRole", detail: `role ${name} with the trust policy${msd}` });
  }
  if (plan.updateTrustPolicy) {
    changes.push({ action: "UpdateAssumeRolePolicy", detail: `replace the trust policy of ${name}` });
  }
  if (plan.setMaxSessionDuration !== undefined) {
    const from = current?.maxSessionDuration ?? MIN_SESSION_SECONDS;
    changes.push({
      action: "UpdateRole",
      detail: `max session duration of ${name} ${from} s -> ${plan.setMaxSessionDuration} s`,
    });
  }
  for (const p of plan.attach) changes.push({ action: "AttachRolePolicy", detail: `${p} to ${name}` });
  return changes;
}

export function providerChanges(url: string, plan: ProviderPlan): Change[] {
  if (plan.create) {
    const tps = plan.setThumbprints ?? [];
    return [
      {
        action: "CreateOpenIDConnectProvider",
        detail: `${url} with client ids ${plan.addClientIds.join(", ")}${
          tps.length > 0 ? ` and thumbprints ${tps.join(", ")}` : ""
        }`,
      },
    ];
  }
  return [
    ...plan.addClientIds.map((c) => ({ action: "AddClientIDToOpenIDConnectProvider", detail: c })),
    ...plan.removeClientIds.map((c) => ({ action: "RemoveClientIDFromOpenIDConnectProvider", detail: c })),
    ...(plan.setThumbprints === undefined
      ? []
      : [{ action: "UpdateOpenIDConnectProviderThumbprint", detail: plan.setThumbprints.join(", ") }]),
  ];
}

/** A shell word: as is when plain, else single-quoted. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The kubectl command that points each ServiceAccount at the role (the webhook's
 * `<prefix>/role-arn`), with `<prefix>/audience` too when the token must carry another audience.
 * `NS/*` annotates every account of the namespace.
 */
export function annotateCommands(
  arn: string,
  serviceAccounts: readonly ServiceAccountRef[],
  audiences: readonly string[],
  prefix = "eks.amazonaws.com",
): string[] {
  const aud = audiences[0] ?? DEFAULT_AUDIENCE;
  const annotations = [
    `${prefix}/role-arn=${arn}`,
    ...(aud === DEFAULT_AUDIENCE ? [] : [`${prefix}/audience=${aud}`]),
  ];
  return serviceAccounts.map((sa) =>
    [
      "kubectl annotate serviceaccount",
      `--namespace ${sa.namespace}`,
      sa.name === "*" ? "--all" : sa.name,
      ...annotations.map(shellWord),
      "--overwrite",
    ].join(" "),
  );
}
