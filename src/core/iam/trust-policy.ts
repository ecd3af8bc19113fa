/**
 * The least-privilege trust policy for IRSA roles: the provider as the only principal,
 * sts:AssumeRoleWithWebIdentity as the only action, StringEquals on both `<issuer>:sub` and
 * `<issuer>:aud`; a whole namespace (`NS/*`) only when asked, and then StringLike for that account
 * alone, in a statement of its own. Pure.
 */
import { IrsaError } from "../errors.js";
import { providerArn, type Partition } from "./arn.js";

export interface ServiceAccountRef {
  readonly namespace: string;
  /** A name, or "*" for every account of the namespace (only with allowNamespaceWildcard). */
  readonly name: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Parses `NS/NAME` (or `NS/*` when allowed), with Kubernetes' name rules. */
export function parseServiceAccountRef(raw: string, allowNamespaceWildcard: boolean): ServiceAccountRef {
  const m = /^([^/]+)\/([^/]+)$/.exec(raw);
  const hint = "pass --service-account NAMESPACE/NAME, such as default/app";
  if (m === null)
    throw new IrsaError("INPUT_INVALID", `service account "${raw}" is not NAMESPACE/NAME`, hint);
  const namespace = m[1] ?? "";
  const name = m[2] ?? "";
  if (!DNS_LABEL.test(namespace)) {
    throw new IrsaError(
      "INPUT_INVALID",
      `namespace "${namespace}" in "${raw}" is not a valid Kubernetes namespace`,
      hint,
    );
  }
  if (name === "*") {
    if (!allowNamespaceWildcard) {
      throw new IrsaError(
        "INPUT_INVALID",
        `"${raw}" admits every service account of namespace ${namespace}`,
        "name the accounts one by one, or pass --allow-namespace-wildcard if every account of the namespace may assume the role",
      );
    }
    return { namespace, name };
  }
  if (!DNS_SUBDOMAIN.test(name)) {
    throw new IrsaError(
      "INPUT_INVALID",
      `name "${name}" in "${raw}" is not a valid service account name`,
      hint,
    );
  }
  return { namespace, name };
}

export function subjectOf(sa: ServiceAccountRef): string {
  return `system:serviceaccount:${sa.namespace}:${sa.name}`;
}

export interface TrustPolicyInput {
  readonly partition: Partition;
  readonly accountId: string;
  /** `host/path` of the issuer (iamIssuer). */
  readonly issuer: string;
  readonly serviceAccounts: readonly ServiceAccountRef[];
  readonly audiences: readonly string[];
}

export const WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity";
export const DEFAULT_AUDIENCE = "sts.amazonaws.com";

export interface TrustPolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly {
    readonly Sid: string;
    readonly Effect: "Allow";
    readonly Principal: { readonly Federated: string };
    readonly Action: string;
    readonly Condition: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
  }[];
}

function one(values: readonly string[]): string | readonly string[] {
  return values.length === 1 ? (values[0] ?? "") : values;
}

export function buildTrustPolicy(input: TrustPolicyInput): TrustPolicyDocument {
  if (input.serviceAccounts.length === 0) {
    throw new IrsaError("INPUT_INVALID", "no service account given", "pass --service-account NAMESPACE/NAME");
  }
  if (input.audiences.length === 0 || input.audiences.some((a) => a === "")) {
    throw new IrsaError(
      "INPUT_INVALID",
      "an audience is empty",
      `pass --audience, such as ${DEFAULT_AUDIENCE}`,
    );
  }
  const federated = providerArn(input.partition, input.accountId, input.issuer);
  const aud = [...new Set(input.audiences)];
  const exact = [...new Set(input.serviceAccounts.filter((s) => s.name !== "*").map(subjectOf))];
  const wild = [...new Set(input.serviceAccounts.filter((s) => s.name === "*").map(subjectOf))];
  const base = { Effect: "Allow", Principal: { Federated: federated }, Action: WEB_IDENTITY_ACTION } as const;
  const statements: TrustPolicyDocument["Statement"][number][] = [];
  if (exact.length > 0) {
    statements.push({
      Sid: "ServiceAccounts",
      ...base,
      Condition: { StringEquals: { [`${input.issuer}:sub`]: one(exact), [`${input.issuer}:aud`]: one(aud) } },
    });
  }
  if (wild.length > 0) {
    statements.push({
      Sid: "NamespaceWildcard",
      ...base,
      Condition: {
        StringEquals: { [`${input.issuer}:aud`]: one(aud) },
        StringLike: { [`${input.issuer}:sub`]: one(wild) },
      },
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}
