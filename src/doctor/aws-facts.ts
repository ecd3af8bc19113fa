/**
 * Doctor's IAM and STS facts: the provider and role from IAM (or from the local STS's config, which
 * is its IAM), and a real token exchange. The AWS SDK adapters are imported only when used.
 */
import { dirname, resolve } from "node:path";
import { failed, gathered, type ExchangeFacts, type IamFacts } from "../core/doctor/facts.js";
import { isIrsaError } from "../core/errors.js";
import { parseRoleArn, providerArn } from "../core/sts/arn.js";
import { attempt, message } from "./attempt.js";
import type { DoctorOptions } from "./gather.js";

/** The SDK found no credentials at all: IAM is left out rather than failed. */
function noCredentials(e: unknown): boolean {
  const cause = isIrsaError(e) ? e.cause : e;
  return cause instanceof Error && cause.name === "CredentialsProviderError";
}

export async function iamFacts(
  o: DoctorOptions,
  issuer: string,
  roleArn: string,
): Promise<IamFacts | string> {
  const { IamApi } = await import("../adapters/aws/iam.js");
  const api = new IamApi({ endpointUrl: o.endpointUrl, region: o.region });
  const role = parseRoleArn(roleArn);
  if (role === undefined) return `the role ARN ${roleArn} is not valid`;
  const hostPath = issuer.startsWith("https://") ? issuer.slice("https://".length) : issuer;
  const arn = providerArn(role.partition, role.account, hostPath);
  let provider: IamFacts["provider"];
  try {
    provider = gathered(await api.getProvider(arn));
  } catch (e) {
    if (noCredentials(e)) return `no AWS credentials found (${message(e)}); give them, or --endpoint-url`;
    provider = failed(message(e));
  }
  let nearProviderArn: string | undefined;
  if (provider.ok && provider.value === undefined) {
    const slashless = hostPath.replace(/\/+$/, "");
    const near = providerArn(
      role.partition,
      role.account,
      hostPath === slashless ? `${hostPath}/` : slashless,
    );
    const other = await attempt(() => api.getProvider(near));
    if (other.ok && other.value !== undefined) nearProviderArn = near;
  }
  const got = await attempt(() => api.getRole(role.name));
  return {
    source: o.endpointUrl ?? "AWS",
    stsConfigFile: undefined,
    providerArn: arn,
    provider,
    nearProviderArn,
    role: got.ok
      ? gathered(
          got.value === undefined
            ? undefined
            : {
                arn: got.value.arn,
                trustPolicy: got.value.trustPolicy,
                maxSessionDuration: got.value.maxSessionDuration,
              },
        )
      : failed(got.error),
  };
}

/** The provider and role as the local STS has them: its config is its IAM. */
export async function iamFromStsConfig(
  file: string,
  issuer: string,
  roleArn: string,
): Promise<IamFacts | string> {
  const { loadStsConfig } = await import("../adapters/sts/config.js");
  const source = `the STS config ${file}`;
  const role = parseRoleArn(roleArn);
  // As from AWS: no role of the config can have it, and the provider's ARN would lack the account.
  if (role === undefined) return `the role ARN ${roleArn} is not valid`;
  const hostPath = issuer.startsWith("https://") ? issuer.slice("https://".length) : issuer;
  const arn = providerArn(role.partition, role.account, hostPath);
  let config;
  try {
    config = (await loadStsConfig(file)).config;
  } catch (e) {
    return {
      source,
      stsConfigFile: file,
      providerArn: arn,
      provider: failed(message(e)),
      nearProviderArn: undefined,
      role: failed(message(e)),
    };
  }
  const p = config.providers.find((x) => x.issuer === issuer);
  const near = config.providers.find(
    (x) => x.issuer !== issuer && x.issuer.replace(/\/+$/, "") === issuer.replace(/\/+$/, ""),
  );
  const r = config.roles.find((x) => x.arn.text === roleArn);
  return {
    source,
    stsConfigFile: file,
    providerArn: arn,
    provider: gathered(p === undefined ? undefined : { clientIds: p.clientIds, thumbprints: undefined }),
    nearProviderArn:
      near === undefined ? undefined : providerArn(role.partition, role.account, near.hostPath),
    role: gathered(
      r?.trustPolicy === undefined
        ? undefined
        : {
            arn: r.arn.text,
            trustPolicy: undefined,
            parsedTrustPolicy: r.trustPolicy,
            ...(r.trustPolicyFile === undefined
              ? {}
              : { trustPolicyFile: resolve(dirname(file), r.trustPolicyFile) }),
            maxSessionDuration: r.maxSessionDuration,
          },
    ),
  };
}

export async function exchangeFacts(
  o: DoctorOptions,
  token: string,
  roleArn: string,
): Promise<ExchangeFacts> {
  const { exchangeWebIdentity, callerIdentity } = await import("../adapters/aws/web-identity.js");
  const endpoint = o.stsEndpoint;
  const where = endpoint ?? `AWS STS (${o.region})`;
  let creds;
  try {
    creds = await exchangeWebIdentity({
      roleArn,
      token,
      sessionName: "irsa-doctor",
      durationSeconds: undefined,
      endpoint,
      region: o.region,
    });
  } catch (e) {
    return { endpoint: where, assumed: failed(message(e)), caller: undefined };
  }
  const c = creds;
  return {
    endpoint: where,
    assumed: gathered({ assumedRoleArn: c.assumedRoleArn ?? "", expiration: c.expiration.toISOString() }),
    caller: await attempt(() => callerIdentity(c, endpoint, o.region)),
  };
}
