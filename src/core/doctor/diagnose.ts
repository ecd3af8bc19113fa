/**
 * Runs every check in chain order on the facts. A check whose prerequisite failed is skipped and
 * names it, so one broken link is reported once; `after: ["*"]` waits for every check before it.
 * Never throws: a check that throws is reported as failed with the error. Pure (async only because
 * the STS checks take their keys through a resolver port).
 */
import { isObject, type JsonObject } from "../json.js";
import { checkWebIdentity, type KeyResolver, type Verdict } from "../sts/check.js";
import type { ProviderConfig, StsConfig } from "../sts/config.js";
import { parseJwks, type KeySet } from "../sts/keys.js";
import { parseRoleArn } from "../sts/arn.js";
import { parseToken, readClaims } from "../sts/token.js";
import { parseTrustPolicy } from "../trust-policy/policy.js";
import type { CheckDef, Derived, Outcome } from "./check.js";
import { CLUSTER_CHECKS } from "./cluster.js";
import { EXCHANGE_CHECKS } from "./exchange.js";
import type { DoctorFacts } from "./facts.js";
import { IAM_CHECKS } from "./iam.js";
import { ISSUER_CHECKS } from "./issuer.js";
import { report, type Finding, type Report } from "./report.js";
import { WEBHOOK_CHECKS } from "./webhook.js";

export const CHECKS: readonly CheckDef[] = [
  ...ISSUER_CHECKS,
  ...CLUSTER_CHECKS,
  ...WEBHOOK_CHECKS,
  ...IAM_CHECKS,
  ...EXCHANGE_CHECKS,
];

/** The session name doctor's own STS evaluation uses (sts:RoleSessionName in the trust policy). */
export const DOCTOR_SESSION = "irsa-doctor";

function resolverOf(set: KeySet): KeyResolver {
  return { keysFor: () => Promise.resolve({ ok: true, keys: set.keys }) };
}

function provider(issuer: string, clientIds: readonly string[]): ProviderConfig {
  return {
    issuer,
    // Stryker disable next-line StringLiteral: differs only for an issuer not starting with https://, for which IAM holds no provider (iam-provider fails first) and whose issuer check cluster-token leaves to IAM
    hostPath: issuer.startsWith("https://") ? issuer.slice("https://".length) : issuer,
    clientIds,
    jwksFile: undefined,
    caFile: undefined,
  };
}

/** The token's checks against the published keys alone: any issuer, any audience, no role. */
async function tokenVerdict(
  f: DoctorFacts,
  d: Omit<Derived, "tokenVerdict" | "iamVerdict" | "policyError">,
): Promise<Verdict | undefined> {
  if (d.published === undefined || f.cluster?.token?.ok !== true) return undefined;
  // A token STS cannot take apart fails its token-format or claims check before the issuer is
  // looked up, so it needs no provider of its own. Any audience passes, so the provider lists no
  // client IDs.
  const claims = d.token?.claims;
  // Stryker disable next-line StringLiteral,ArrayDeclaration: claims are missing only when STS's claims check fails before the issuer is looked up; any audience passes, so no client ID is read
  const config: StsConfig = { providers: [provider(claims?.iss ?? "", [])], roles: [] };
  return checkWebIdentity(
    {
      token: f.cluster.token.value,
      // Stryker disable next-line StringLiteral: with no role configured the role check fails for any ARN, and cluster-token does not show its reason
      roleArn: "arn:aws:iam::000000000000:role/none",
      roleSessionName: DOCTOR_SESSION,
    },
    config,
    resolverOf(d.published),
    { now: f.now, anyAudience: true },
  );
}

/** The token against the IAM provider and role, every STS check in STS's order. */
async function iamVerdict(
  f: DoctorFacts,
  d: Omit<Derived, "tokenVerdict" | "iamVerdict" | "policyError">,
): Promise<Verdict | undefined> {
  const i = f.iam;
  const roleArn = f.roleArn === undefined ? undefined : parseRoleArn(f.roleArn);
  if (i === undefined || roleArn === undefined || f.issuer === undefined || d.published === undefined)
    return undefined;
  if (f.cluster?.token?.ok !== true || !i.provider.ok || i.provider.value === undefined) return undefined;
  if (!i.role.ok || i.role.value === undefined) return undefined;
  const trustPolicy = i.role.value.parsedTrustPolicy ?? parseTrustPolicy(i.role.value.trustPolicy);
  const config: StsConfig = {
    providers: [provider(f.issuer, i.provider.value.clientIds)],
    roles: [
      {
        arn: roleArn,
        trustPolicy,
        trustPolicyFile: undefined,
        maxSessionDuration: i.role.value.maxSessionDuration ?? 3600,
      },
    ],
  };
  return checkWebIdentity(
    { token: f.cluster.token.value, roleArn: roleArn.text, roleSessionName: DOCTOR_SESSION },
    config,
    resolverOf(d.published),
    { now: f.now },
  );
}

function parseDiscovery(f: DoctorFacts): JsonObject | undefined {
  if (f.discovery?.ok !== true) return undefined;
  try {
    const doc = JSON.parse(f.discovery.value.body) as unknown;
    return isObject(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

async function derive(f: DoctorFacts): Promise<Derived> {
  const published = f.jwks?.ok === true ? parseJwks(f.jwks.value.body) : undefined;
  let token: Derived["token"];
  if (f.cluster?.token?.ok === true) {
    const p = parseToken(f.cluster.token.value);
    if (p.ok) {
      const c = readClaims(p.token.claims);
      token = { parsed: p.token, claims: c.ok ? c.claims : undefined };
    }
  }
  const base = { discovery: parseDiscovery(f), published, token };
  let policyError: string | undefined;
  const [tv, iv] = await Promise.all([
    tokenVerdict(f, base),
    iamVerdict(f, base).catch((e: unknown) => {
      // A trust policy STS's parser refuses: the iam-trust-policy check says so.
      policyError = (e as Error).message;
      return undefined;
    }),
  ]);
  return { ...base, tokenVerdict: tv, iamVerdict: iv, policyError };
}

/** The failed checks among `names` (directly, or as the root of their own skip). */
function failedRoots(
  names: readonly string[],
  done: readonly Finding[],
  blocked: ReadonlyMap<string, readonly string[]>,
): string[] {
  const roots = new Set<string>();
  for (const n of names) {
    if (done.find((x) => x.id === n)?.status === "fail") roots.add(n);
    for (const r of blocked.get(n) ?? []) roots.add(r);
  }
  return [...roots];
}

export async function diagnose(f: DoctorFacts): Promise<Report> {
  const d = await derive(f);
  const findings: Finding[] = [];
  /** Checks skipped because a prerequisite failed, with the failed roots. */
  const blocked = new Map<string, readonly string[]>();
  for (const def of CHECKS) {
    // Stryker disable next-line ArrayDeclaration: a name that is no check's id is neither failed nor skipped
    const after = (def.after ?? []).includes("*") ? findings.map((x) => x.id) : (def.after ?? []);
    const roots = failedRoots([...def.needs, ...after], findings, blocked);
    const unmet = findings.find((x) => def.needs.includes(x.id) && x.status === "skip");
    let o: Outcome;
    if (roots.length > 0) {
      blocked.set(def.id, roots);
      o = { status: "skip", detail: `not checked: ${roots.join(", ")} failed` };
    } else if (unmet !== undefined) {
      o = { status: "skip", detail: unmet.detail };
    } else {
      try {
        o = def.run(f, d);
      } catch (e) {
        o = {
          status: "fail",
          detail: `the check itself failed: ${(e as Error).message}`,
          fix: "report this as a bug",
        };
      }
    }
    findings.push({ id: def.id, group: def.group, title: def.title, ...o });
  }
  return report(findings);
}
