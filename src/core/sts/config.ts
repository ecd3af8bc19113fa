/**
 * The STS configuration (YAML or JSON, parsed by the caller): providers and roles. Every problem
 * names its field path; file paths are returned as written for the caller to resolve. Pure.
 */
import { IrsaError } from "../errors.js";
import { Fields, isObject, typeName, type JsonObject } from "../json.js";
import { parseTrustPolicy, type TrustPolicy } from "../trust-policy/policy.js";
import { parseRoleArn, type RoleArn } from "./arn.js";

export interface ProviderConfig {
  /** The issuer exactly as tokens carry it: `https://` + the URL as IAM stores it. */
  readonly issuer: string;
  /** The URL without `https://`: the condition key prefix and the tail of the provider ARN. */
  readonly hostPath: string;
  readonly clientIds: readonly string[];
  readonly jwksFile: string | undefined;
  readonly caFile: string | undefined;
}

export interface RoleConfig {
  readonly arn: RoleArn;
  /** Parsed, or undefined when `trustPolicyFile` must be read first. */
  readonly trustPolicy: TrustPolicy | undefined;
  readonly trustPolicyFile: string | undefined;
  readonly maxSessionDuration: number;
}

export interface StsConfig {
  readonly providers: readonly ProviderConfig[];
  readonly roles: readonly RoleConfig[];
}

export const DEFAULT_MAX_SESSION_DURATION = 3600;

const fields = new Fields(
  (path, problem) =>
    new IrsaError(
      "STS_CONFIG_INVALID",
      `STS config: ${path}: ${problem}`,
      "fix the STS config file (see: irsa sts serve --help)",
    ),
);

function stringList(o: JsonObject, key: string, path: string): string[] {
  const items = fields.optArray(o, key, path);
  if (items === undefined || items.length === 0)
    throw fields.fail(`${path}.${key}`, "needs at least one entry");
  return items.map((x, i) => {
    if (typeof x !== "string" || x === "")
      throw fields.fail(`${path}.${key}[${i}]`, `expected a non-empty string, got ${typeName(x)}`);
    if (x.length > 255)
      throw fields.fail(`${path}.${key}[${i}]`, "is longer than 255 characters (IAM's limit)");
    return x;
  });
}

function parseProvider(o: JsonObject, path: string): ProviderConfig {
  const url = fields.nonEmptyString(o, "url", path);
  if (url.includes("?") || url.includes("#"))
    throw fields.fail(`${path}.url`, "an IAM OIDC provider URL has no query or fragment");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith("https://")) {
    throw fields.fail(`${path}.url`, `must be https (IAM accepts only https), got "${url}"`);
  }
  // IAM stores the URL without the scheme and compares the rest as a string: no trailing-slash or case normalisation.
  const hostPath = url.startsWith("https://") ? url.slice("https://".length) : url;
  if (hostPath === "" || hostPath.startsWith("/")) throw fields.fail(`${path}.url`, "has no host");
  const clientIds = stringList(o, "clientIds", path);
  if (clientIds.length > 100)
    throw fields.fail(`${path}.clientIds`, "has more than 100 entries (IAM's limit)");
  return {
    issuer: `https://${hostPath}`,
    hostPath,
    clientIds,
    jwksFile: fields.optString(o, "jwksFile", path),
    caFile: fields.optString(o, "caFile", path),
  };
}

function parseRole(o: JsonObject, path: string): RoleConfig {
  const arnText = fields.nonEmptyString(o, "arn", path);
  const arn = parseRoleArn(arnText);
  if (arn === undefined)
    throw fields.fail(`${path}.arn`, `"${arnText}" is not a role ARN (arn:aws:iam::123456789012:role/NAME)`);
  const inline = o.trustPolicy;
  const file = fields.optString(o, "trustPolicyFile", path);
  if ((inline === undefined) === (file === undefined))
    throw fields.fail(path, "needs exactly one of trustPolicy and trustPolicyFile");
  let trustPolicy: TrustPolicy | undefined;
  if (inline !== undefined) {
    try {
      trustPolicy = parseTrustPolicy(inline);
    } catch (e) {
      throw fields.fail(`${path}.trustPolicy`, (e as Error).message.replace(/^trust policy: /, ""));
    }
  }
  const max = o.maxSessionDuration ?? DEFAULT_MAX_SESSION_DURATION;
  if (typeof max !== "number" || !Number.isInteger(max) || max < 3600 || max > 43200) {
    throw fields.fail(
      `${path}.maxSessionDuration`,
      `must be an integer from 3600 to 43200 (IAM's range), got ${JSON.stringify(max)}`,
    );
  }
  return { arn, trustPolicy, trustPolicyFile: file, maxSessionDuration: max };
}

/** Parses the config value; throws IrsaError STS_CONFIG_INVALID naming the field. */
export function parseStsConfig(v: unknown): StsConfig {
  if (!isObject(v))
    throw fields.fail("(top)", `expected an object with providers and roles, got ${typeName(v)}`);
  for (const k of Object.keys(v)) {
    if (k !== "providers" && k !== "roles")
      throw fields.fail(k, "unknown field (expected providers and roles)");
  }
  const providers = (fields.optObjectArray(v, "providers", "") ?? []).map((p, i) =>
    parseProvider(p, `providers[${i}]`),
  );
  const roles = (fields.optObjectArray(v, "roles", "") ?? []).map((r, i) => parseRole(r, `roles[${i}]`));
  const seen = new Set<string>();
  providers.forEach((p, i) => {
    if (seen.has(p.issuer))
      throw fields.fail(`providers[${i}].url`, `duplicates another provider (${p.issuer})`);
    seen.add(p.issuer);
  });
  const arns = new Set<string>();
  roles.forEach((r, i) => {
    if (arns.has(r.arn.text)) throw fields.fail(`roles[${i}].arn`, `duplicates another role (${r.arn.text})`);
    arns.add(r.arn.text);
  });
  return { providers, roles };
}

/** Puts a trust policy read from `trustPolicyFile` into its role; throws naming the role. */
export function withTrustPolicyText(role: RoleConfig, index: number, text: string): RoleConfig {
  try {
    return { ...role, trustPolicy: parseTrustPolicy(text) };
  } catch (e) {
    throw fields.fail(
      `roles[${index}].trustPolicyFile (${role.trustPolicyFile ?? ""})`,
      (e as Error).message.replace(/^trust policy: /, ""),
    );
  }
}
