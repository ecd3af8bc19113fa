/**
 * Temporary credentials shaped as AWS's: an access key id `ASIA` + 16 base32 characters, a
 * 40-character secret, a session token; the assumed-role user. Randomness is passed in. Pure.
 */
import { assumedRoleArn, base32, roleId } from "./arn.js";
import type { Grant } from "./check.js";
import type { AssumedRole, IssuedCredentials } from "./xml.js";

export type RandomBytes = (n: number) => Uint8Array;

export function newCredentials(
  random: RandomBytes,
  nowMs: number,
  durationSeconds: number,
): IssuedCredentials {
  return {
    // ASIA marks temporary (STS) credentials; the rest is [A-Z2-7], as AWS's.
    accessKeyId: `ASIA${base32(random(10), 16)}`,
    secretAccessKey: Buffer.from(random(30)).toString("base64"),
    sessionToken: Buffer.from(random(192)).toString("base64"),
    expiration: nowMs + durationSeconds * 1000,
  };
}

export function assumedRole(grant: Grant, session: string, credentials: IssuedCredentials): AssumedRole {
  return {
    credentials,
    subject: grant.claims.sub,
    assumedRoleId: `${roleId(grant.role.arn)}:${session}`,
    arn: assumedRoleArn(grant.role.arn, session),
    provider: grant.providerArn,
    audience: grant.audience,
  };
}
