/**
 * Loading the STS config file (irsa sts serve, irsa sts check, irsa doctor --sts-config): YAML or
 * JSON, relative paths taken from the file's directory, trustPolicyFile and jwksFile read. Every problem is an IrsaError naming the field.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { IrsaError } from "../../core/errors.js";
import { parseStsConfig, withTrustPolicyText, type StsConfig } from "../../core/sts/config.js";
import { parseJwks, type KeySet } from "../../core/sts/keys.js";
import { readTextFile } from "../files.js";

export interface LoadedStsConfig {
  readonly config: StsConfig;
  /** Keys of the providers with a jwksFile, by issuer. */
  readonly staticKeys: ReadonlyMap<string, KeySet>;
  /** Every file read (the config, trust policies, JWKS files): watched for reloads. */
  readonly files: readonly string[];
}

export async function loadStsConfig(file: string): Promise<LoadedStsConfig> {
  const text = await readTextFile(file, "STS config");
  let value: unknown;
  try {
    value = parseYaml(text, { prettyErrors: true });
  } catch (e) {
    throw new IrsaError(
      "STS_CONFIG_INVALID",
      `STS config ${file} is not valid YAML or JSON: ${(e as Error).message}`,
      "fix the file's syntax",
    );
  }
  const parsed = parseStsConfig(value);
  const dir = dirname(resolve(file));
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(dir, p));
  const files = [resolve(file)];
  const roles = await Promise.all(
    parsed.roles.map(async (r, i) => {
      if (r.trustPolicyFile === undefined) return r;
      const path = at(r.trustPolicyFile);
      files.push(path);
      return withTrustPolicyText(r, i, await readTextFile(path, `roles[${i}].trustPolicyFile`));
    }),
  );
  const staticKeys = new Map<string, KeySet>();
  const providers = [];
  for (const [i, p] of parsed.providers.entries()) {
    const caFile = p.caFile === undefined ? undefined : at(p.caFile);
    if (p.jwksFile !== undefined) {
      const path = at(p.jwksFile);
      files.push(path);
      const set = parseJwks(await readTextFile(path, `providers[${i}].jwksFile`));
      if (set.keys.length === 0) {
        throw new IrsaError(
          "STS_CONFIG_INVALID",
          `STS config: providers[${i}].jwksFile (${path}): no usable key: ${set.problems.join("; ")}`,
          "give the JWKS the issuer serves (irsa jwks prints one)",
        );
      }
      staticKeys.set(p.issuer, set);
    }
    providers.push({ ...p, caFile, jwksFile: p.jwksFile === undefined ? undefined : at(p.jwksFile) });
  }
  return { config: { providers, roles }, staticKeys, files };
}
