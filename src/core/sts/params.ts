/**
 * AssumeRoleWithWebIdentity's request parameters, checked against the API model's constraints
 * (botocore sts/2011-06-15/service-2.json) with the query protocol's ValidationError text
 * ("N validation error(s) detected: Value ... at '...' failed to satisfy constraint: ..."). Pure.
 */
import { stsError, type StsError } from "./errors.js";

export interface AssumeParams {
  readonly roleArn: string;
  readonly roleSessionName: string;
  readonly webIdentityToken: string;
  /** Absent: STS's default, 3600. */
  readonly durationSeconds: number | undefined;
}

export type ParamsCheck =
  { ok: true; params: AssumeParams } | { ok: false; error: StsError; problems: readonly string[] };

export const TOKEN_MIN = 4;
export const TOKEN_MAX = 20_000;
export const DEFAULT_DURATION = 3600;
const SESSION_NAME = /^[\w+=,.@-]*$/;

function quote(v: string): string {
  // AWS echoes the value; long ones are cut here so that an answer stays small.
  return `'${v.length > 256 ? `${v.slice(0, 256)}...` : v}'`;
}

/** The ValidationError for a list of constraint failures, in AWS's words. */
export function validationError(problems: readonly string[]): StsError {
  const n = problems.length;
  return stsError(
    "ValidationError",
    `${n} validation error${n === 1 ? "" : "s"} detected: ${problems.join("; ")}`,
  );
}

function length(
  problems: string[],
  member: string,
  value: string,
  min: number,
  max: number,
  shown: string,
): void {
  if (value.length < min)
    problems.push(
      `Value ${shown} at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`,
    );
  if (value.length > max)
    problems.push(
      `Value ${shown} at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
}

/** Checks the parameters of one request (`get` reads a query or form parameter). */
export function checkAssumeParams(get: (name: string) => string | undefined): ParamsCheck {
  const problems: string[] = [];
  const roleArn = get("RoleArn");
  const session = get("RoleSessionName");
  const token = get("WebIdentityToken");
  const durationText = get("DurationSeconds");
  const policy = get("Policy");
  if (roleArn === undefined)
    problems.push("Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
  else length(problems, "roleArn", roleArn, 20, 2048, quote(roleArn));
  if (session === undefined)
    problems.push("Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null");
  else {
    length(problems, "roleSessionName", session, 2, 64, quote(session));
    if (!SESSION_NAME.test(session)) {
      problems.push(
        `Value ${quote(session)} at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
  }
  // The token is a sensitive member: its value is never echoed.
  if (token === undefined)
    problems.push("Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null");
  else length(problems, "webIdentityToken", token, TOKEN_MIN, TOKEN_MAX, "(sensitive)");
  let durationSeconds: number | undefined;
  if (durationText !== undefined) {
    // How STS words a DurationSeconds that is not a number is not known; the query protocol fails it as a ValidationError.
    if (!/^-?[0-9]{1,12}$/.test(durationText)) {
      problems.push(
        `Value ${quote(durationText)} at 'durationSeconds' failed to satisfy constraint: Member must be an integer`,
      );
    } else {
      durationSeconds = Number(durationText);
      if (durationSeconds < 900)
        problems.push(
          `Value '${durationSeconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
        );
      if (durationSeconds > 43200)
        problems.push(
          `Value '${durationSeconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200`,
        );
    }
  }
  if (policy !== undefined) length(problems, "policy", policy, 1, 2048, quote(policy));
  if (problems.length > 0) return { ok: false, error: validationError(problems), problems };
  return {
    ok: true,
    params: {
      roleArn: roleArn ?? "",
      roleSessionName: session ?? "",
      webIdentityToken: token ?? "",
      durationSeconds,
    },
  };
}

/**
 * A session policy is accepted but not applied (this STS grants no permissions of its own); it must
 * still be a JSON object, else MalformedPolicyDocument as AWS.
 */
export function checkSessionPolicy(policy: string | undefined): StsError | undefined {
  if (policy === undefined) return undefined;
  try {
    const v = JSON.parse(policy) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return undefined;
  } catch {
    // falls through
  }
  return stsError("MalformedPolicyDocument", "The policy is not in the valid JSON format.");
}
