/**
 * What the webhook knows about a service account, read from its annotations with the flags as
 * defaults, as the webhook's service-account cache does: role ARN, audience, regional STS and
 * token lifetime, plus the container-credentials (EKS Pod Identity) settings when the account is
 * listed for that mode.
 */
import { IrsaError } from "../errors.js";
import { ANNOTATIONS, validTokenExpiration, type WebhookConfig } from "./config.js";
import { Fields, isObject, parseJsonObject, typeName } from "../json.js";
import { parseGoBool, parseGoInt64 } from "../go/parse.js";

/** Container-credentials mode for one service account: the flags' values. */
export interface ContainerCredentialsSettings {
  readonly audience: string;
  readonly fullUri: string;
  readonly mountPath: string;
  readonly volumeName: string;
  readonly tokenPath: string;
}

export interface ServiceAccountSettings {
  /** `<prefix>/role-arn`; "" when absent (no web-identity mutation). */
  readonly roleArn: string;
  /** `<prefix>/audience`, else --token-audience. */
  readonly audience: string;
  /** `<prefix>/sts-regional-endpoints` when it parses as a Go bool, else --sts-regional-endpoint. */
  readonly useRegionalSts: boolean;
  /** `<prefix>/token-expiration` (600 to 2^32) when it parses as an integer, else --token-expiration. */
  readonly tokenExpiration: number;
  /** Set when the account is listed for container credentials; that mode then takes precedence. */
  readonly containerCredentials?: ContainerCredentialsSettings;
}

/** Builds a role ARN from a bare role name or path (upstream's --compose-role-arn). */
export interface ComposeRoleArn {
  readonly partition: string;
  readonly accountId: string;
}

/** The partition of a region, as upstream's --compose-role-arn derives it. */
export function partitionForRegion(region: string): string {
  const prefixes: [string, string][] = [
    ["cn-", "aws-cn"],
    ["us-gov-", "aws-us-gov"],
    ["us-isob-", "aws-iso-b"],
    ["us-iso-", "aws-iso"],
    ["eusc-", "aws-eusc"],
  ];
  return prefixes.find(([p]) => region.startsWith(p))?.[1] ?? "aws";
}

export interface ServiceAccountOptions {
  /** The account is listed in the container-credentials configuration. */
  readonly containerCredentials?: boolean;
  readonly composeRoleArn?: ComposeRoleArn;
}

const fields = new Fields(
  (path, problem) =>
    new IrsaError(
      "SERVICE_ACCOUNT_INVALID",
      `invalid service account: ${path}: ${problem}`,
      "give a v1 ServiceAccount object",
    ),
);

export function containerCredentialsSettings(config: WebhookConfig): ContainerCredentialsSettings {
  return {
    audience: config.containerCredentialsAudience,
    fullUri: config.containerCredentialsFullUri,
    mountPath: config.containerCredentialsTokenMountPath,
    volumeName: config.containerCredentialsTokenVolumeName,
    tokenPath: config.containerCredentialsTokenPath,
  };
}

/**
 * Settings for an account the webhook has no annotations for (or has not seen): the flags.
 * (Upstream falls back to 86400 s and no regional STS here, ignoring the flags; the flags are what
 * an operator asked for, so they apply.)
 */
export function defaultServiceAccountSettings(
  config: WebhookConfig,
  options: ServiceAccountOptions = {},
): ServiceAccountSettings {
  const base = {
    roleArn: "",
    audience: config.tokenAudience,
    useRegionalSts: config.stsRegionalEndpoint,
    tokenExpiration: validTokenExpiration(config.tokenExpiration),
  };
  return options.containerCredentials === true
    ? { ...base, containerCredentials: containerCredentialsSettings(config) }
    : base;
}

/** Reads a ServiceAccount object's annotations into the settings the mutation uses. */
export function serviceAccountSettings(
  sa: unknown,
  config: WebhookConfig,
  options: ServiceAccountOptions = {},
): ServiceAccountSettings {
  if (!isObject(sa)) throw fields.fail("(root)", `expected an object, got ${typeName(sa)}`);
  const kind = fields.optString(sa, "kind", "");
  if (kind !== undefined && kind !== "ServiceAccount") {
    throw fields.fail("kind", `expected ServiceAccount, got ${JSON.stringify(kind)}`);
  }
  const metadata = fields.optObject(sa, "metadata", "") ?? {};
  const annotations = fields.optStringMap(metadata, "annotations", "metadata") ?? {};
  return serviceAccountSettingsFromAnnotations(annotations, config, options);
}

/**
 * The settings from a ServiceAccount's annotations, already known to be strings (the webhook's
 * cache keeps only those): what serviceAccountSettings reads once it has checked the object.
 */
export function serviceAccountSettingsFromAnnotations(
  annotations: Readonly<Record<string, string>>,
  config: WebhookConfig,
  options: ServiceAccountOptions = {},
): ServiceAccountSettings {
  const get = (name: string): string | undefined => {
    const key = `${config.annotationPrefix}/${name}`;
    return Object.hasOwn(annotations, key) ? annotations[key] : undefined;
  };
  const defaults = defaultServiceAccountSettings(config, options);

  let roleArn = get(ANNOTATIONS.roleArn) ?? "";
  const compose = options.composeRoleArn;
  if (roleArn !== "" && compose !== undefined && !roleArn.includes("arn:")) {
    roleArn = `arn:${compose.partition}:iam::${compose.accountId}:role/${roleArn}`;
  }
  const regional = get(ANNOTATIONS.stsRegionalEndpoints);
  const expiration = get(ANNOTATIONS.tokenExpiration);
  const parsedExpiration = expiration === undefined ? undefined : parseGoInt64(expiration);
  return {
    ...defaults,
    roleArn,
    audience: get(ANNOTATIONS.audience) ?? defaults.audience,
    useRegionalSts: (regional === undefined ? undefined : parseGoBool(regional)) ?? defaults.useRegionalSts,
    tokenExpiration:
      parsedExpiration === undefined ? defaults.tokenExpiration : validTokenExpiration(parsedExpiration),
  };
}

const ROLE_ARN = /^arn:aws[a-z0-9-]*:iam::\d{12}:role\/[\w\-/.@+=,]+$/;

/** A warning when a role ARN does not look like one (the webhook still injects it, as upstream). */
export function roleArnWarning(roleArn: string): string | undefined {
  return roleArn === "" || ROLE_ARN.test(roleArn)
    ? undefined
    : `role ARN ${JSON.stringify(roleArn)} is not of the form arn:<partition>:iam::<12-digit account>:role/<name>`;
}

/**
 * The service accounts listed in a container-credentials configuration file
 * (`{"identities":[{"namespace":"ns","serviceAccount":"sa"}]}`), as "namespace/name" keys.
 * An empty file lists none.
 */
export function parseContainerCredentialsIdentities(text: string, source: string): ReadonlySet<string> {
  const bad = (problem: string): IrsaError =>
    new IrsaError(
      "INPUT_INVALID",
      `invalid container credentials config ${source}: ${problem}`,
      'expected {"identities":[{"namespace":"...","serviceAccount":"..."}]}',
    );
  if (text.trim() === "") return new Set();
  const doc = parseJsonObject(text, bad);
  const identities = doc.identities ?? [];
  if (!Array.isArray(identities)) throw bad(`identities: expected an array, got ${typeName(identities)}`);
  const out = new Set<string>();
  identities.forEach((item: unknown, i) => {
    if (!isObject(item)) throw bad(`identities[${i}]: expected an object, got ${typeName(item)}`);
    const ns = item.namespace ?? "";
    const name = item.serviceAccount ?? "";
    if (typeof ns !== "string") throw bad(`identities[${i}].namespace: expected a string`);
    if (typeof name !== "string") throw bad(`identities[${i}].serviceAccount: expected a string`);
    out.add(`${ns}/${name}`);
  });
  return out;
}
