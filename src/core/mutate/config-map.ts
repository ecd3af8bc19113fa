/**
 * Upstream's `--watch-config-map`: ServiceAccount settings from the ConfigMap `pod-identity-webhook`
 * in the webhook's namespace, its `data.config` a JSON object keyed "namespace/name" (namespace
 * `*` for any), each value `{"RoleARN", "Audience", "UseRegionalSTS", "TokenExpiration"}` (member
 * names matched case-insensitively, as Go's encoding/json does). An account's own role-arn
 * annotation wins over its entry, as upstream's cache does.
 */
import { IrsaError } from "../errors.js";
import { isObject, parseJsonObject, typeName } from "../json.js";
import { validTokenExpiration } from "./config.js";
import type { ServiceAccountSettings } from "./service-account.js";

export const CONFIG_MAP_NAME = "pod-identity-webhook";

export type ConfigMapEntries = ReadonlyMap<string, Omit<ServiceAccountSettings, "containerCredentials">>;

function member(entry: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : entry[key];
}

/** Parses `data.config`; a missing or empty config lists none. Throws IrsaError INPUT_INVALID. */
export function parseConfigMapEntries(
  text: string | undefined,
  defaultTokenExpiration: number,
): ConfigMapEntries {
  const bad = (problem: string): IrsaError =>
    new IrsaError(
      "INPUT_INVALID",
      `invalid ConfigMap ${CONFIG_MAP_NAME} data.config: ${problem}`,
      'expected {"namespace/name":{"RoleARN":"arn:aws:iam::…","Audience":"sts.amazonaws.com","UseRegionalSTS":true,"TokenExpiration":86400}}',
    );
  const out = new Map<string, Omit<ServiceAccountSettings, "containerCredentials">>();
  if (text === undefined || text.trim() === "") return out;
  const doc = parseJsonObject(text, bad);
  for (const [key, value] of Object.entries(doc)) {
    if (!/^[^/]+\/[^/]+$/.test(key)) throw bad(`key ${JSON.stringify(key)} is not "namespace/name"`);
    if (value === null) continue;
    if (!isObject(value)) throw bad(`${key}: expected an object, got ${typeName(value)}`);
    const str = (name: string): string => {
      const v = member(value, name) ?? "";
      if (typeof v !== "string") throw bad(`${key}.${name}: expected a string, got ${typeName(v)}`);
      return v;
    };
    const regional = member(value, "UseRegionalSTS") ?? false;
    if (typeof regional !== "boolean") throw bad(`${key}.UseRegionalSTS: expected true or false`);
    const expiration = member(value, "TokenExpiration") ?? 0;
    if (typeof expiration !== "number" || !Number.isInteger(expiration)) {
      throw bad(`${key}.TokenExpiration: expected an integer number of seconds`);
    }
    out.set(key, {
      roleArn: str("RoleARN"),
      audience: str("Audience"),
      useRegionalSts: regional,
      tokenExpiration: validTokenExpiration(expiration === 0 ? defaultTokenExpiration : expiration),
    });
  }
  return out;
}

/** The entry for an account: "namespace/name", else "*\/name" (upstream's lookup order). */
export function configMapEntry(
  entries: ConfigMapEntries,
  namespace: string,
  name: string,
): Omit<ServiceAccountSettings, "containerCredentials"> | undefined {
  return entries.get(`${namespace}/${name}`) ?? entries.get(`*/${name}`);
}
