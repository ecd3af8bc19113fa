/** Role, assumed-role and OIDC provider ARNs. Pure. */
import { createHash } from "node:crypto";

export interface RoleArn {
  readonly text: string;
  readonly partition: string;
  readonly account: string;
  /** The role name without its path: what the assumed-role ARN carries. */
  readonly name: string;
  readonly path: string;
}

const ROLE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::(\d{12}):role(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]{1,64})$/;

/** A role ARN taken apart, or undefined. The path (`role/team/app`) is kept apart from the name. */
export function parseRoleArn(text: string): RoleArn | undefined {
  const m = ROLE_ARN.exec(text);
  if (m === null) return undefined;
  // Stryker disable next-line StringLiteral: every group of ROLE_ARN takes part in every match, so no fallback is read
  return { text, partition: m[1] ?? "aws", account: m[2] ?? "", path: m[3] ?? "/", name: m[4] ?? "" };
}

/** arn:PARTITION:iam::ACCOUNT:oidc-provider/HOST/PATH (IAM keeps the path and any trailing slash). */
export function providerArn(partition: string, account: string, hostPath: string): string {
  return `arn:${partition}:iam::${account}:oidc-provider/${hostPath}`;
}

/** STS drops the role's path from the assumed-role ARN. */
export function assumedRoleArn(role: RoleArn, session: string): string {
  return `arn:${role.partition}:sts::${role.account}:assumed-role/${role.name}/${session}`;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Upper-case base32 of bytes, `n` characters (IAM's unique ids and access key ids use this alphabet). */
export function base32(bytes: Uint8Array, n: number): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < n) {
      out += BASE32.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

/** A stable role id (AROA + 17) for a role ARN: real IAM assigns one at creation; we derive it. */
export function roleId(role: RoleArn): string {
  return `AROA${base32(createHash("sha256").update(role.text).digest(), 17)}`;
}
