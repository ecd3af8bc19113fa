/** IAM partitions, account ids, ARNs and the OIDC provider ARN for an issuer. Pure. */
import { IrsaError } from "../errors.js";
import { checkIssuerUrl } from "../oidc/url.js";

export const PARTITIONS = ["aws", "aws-cn", "aws-us-gov"] as const;
export type Partition = (typeof PARTITIONS)[number];

export function checkPartition(p: string): Partition {
  if (!(PARTITIONS as readonly string[]).includes(p)) {
    throw new IrsaError("INPUT_INVALID", `partition "${p}" is not one of ${PARTITIONS.join(", ")}`);
  }
  return p as Partition;
}

export function checkAccountId(id: string): string {
  if (!/^[0-9]{12}$/.test(id)) {
    throw new IrsaError(
      "ARN_INVALID",
      `account id "${id}" is not 12 digits`,
      "pass the AWS account id as 12 digits, such as 111122223333",
    );
  }
  return id;
}

export interface Arn {
  readonly partition: Partition;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

/** Parses `arn:partition:service:region:account:resource`; managed policies have the account "aws". */
export function parseArn(raw: string): Arn {
  const parts = raw.split(":");
  const bad = (why: string): IrsaError =>
    new IrsaError(
      "ARN_INVALID",
      `"${raw}" is not a valid ARN: ${why}`,
      "an IAM policy ARN looks like arn:aws:iam::111122223333:policy/name or arn:aws:iam::aws:policy/ReadOnlyAccess",
    );
  if (parts.length < 6 || parts[0] !== "arn")
    throw bad("it must have the form arn:partition:service:region:account:resource");
  const [, partition = "", service = "", region = "", account = ""] = parts;
  const resource = parts.slice(5).join(":");
  if (!(PARTITIONS as readonly string[]).includes(partition)) throw bad(`unknown partition "${partition}"`);
  if (!/^[a-z0-9-]+$/.test(service)) throw bad(`service "${service}" is not valid`);
  if (account !== "" && account !== "aws" && !/^[0-9]{12}$/.test(account)) {
    throw bad(`account "${account}" is not 12 digits`);
  }
  if (resource === "") throw bad("the resource is empty");
  return { partition: partition as Partition, service, region, account, resource };
}

/** An IAM managed policy ARN (arn:...:iam::ACCOUNT|aws:policy/PATH/NAME). */
export function checkPolicyArn(raw: string): string {
  const a = parseArn(raw);
  if (
    a.service !== "iam" ||
    a.region !== "" ||
    a.account === "" ||
    !/^policy\/[\w+=,.@/-]+$/.test(a.resource)
  ) {
    throw new IrsaError(
      "ARN_INVALID",
      `"${raw}" is not an IAM policy ARN`,
      "pass arn:aws:iam::111122223333:policy/name or arn:aws:iam::aws:policy/ReadOnlyAccess",
    );
  }
  return raw;
}

/** IAM role names: 1 to 64 of [\w+=,.@-]. */
export function checkRoleName(name: string): string {
  if (!/^[\w+=,.@-]{1,64}$/.test(name)) {
    throw new IrsaError(
      "INPUT_INVALID",
      `role name "${name}" is not valid`,
      "use 1 to 64 letters, digits or + = , . @ _ -",
    );
  }
  return name;
}

/**
 * Checks an issuer for IAM: https, no port, no trailing slash (the URL rules, with IAM's
 * differences made errors). Returns `host/path`, the provider's name and the condition key prefix.
 */
export function iamIssuer(raw: string, flag = "--issuer"): string {
  checkIssuerUrl(raw, flag);
  const rest = raw.slice("https://".length);
  if (!raw.startsWith("https://")) {
    throw new IrsaError(
      "URL_INVALID",
      `issuer URL "${raw}" writes its scheme in capitals; IAM OIDC provider URLs begin with "https://" and IAM matches the issuer string exactly`,
      `pass https://${rest} in ${flag}, as kube-apiserver's --service-account-issuer`,
    );
  }
  const authority = rest.split("/")[0] ?? "";
  if (authority.replace(/^\[[^\]]*\]/, "").includes(":")) {
    throw new IrsaError(
      "URL_INVALID",
      `issuer URL "${raw}" has a port; IAM OIDC provider URLs may not`,
      `serve the issuer on 443 and pass it without the port in ${flag}`,
    );
  }
  if (raw.endsWith("/")) {
    throw new IrsaError(
      "URL_INVALID",
      `issuer URL "${raw}" ends with "/"; IAM matches the issuer string exactly`,
      `pass ${raw.replace(/\/+$/, "")} in ${flag}, as kube-apiserver's --service-account-issuer`,
    );
  }
  return rest;
}

export function providerArn(partition: Partition, account: string, issuerHostPath: string): string {
  return `arn:${partition}:iam::${checkAccountId(account)}:oidc-provider/${issuerHostPath}`;
}

/** `aws` for commercial regions, `aws-cn` for cn-*, `aws-us-gov` for us-gov-*. */
export function partitionOfRegion(region: string | undefined): Partition {
  if (region?.startsWith("cn-") === true) return "aws-cn";
  if (region?.startsWith("us-gov-") === true) return "aws-us-gov";
  return "aws";
}
