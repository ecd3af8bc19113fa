/**
 * Gathers doctor's facts through the adapters: the issuer's documents over HTTPS, the cluster
 * through the kubeconfig, IAM and STS through the AWS SDK. Every failure becomes a fact; a part
 * without its inputs is left out with the reason.
 */
import { dirname, resolve } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import {
  failed,
  gathered,
  type ClusterFacts,
  type DoctorFacts,
  type ExchangeFacts,
  type Fetch,
  type Gathered,
  type IamFacts,
  type WebhookFacts,
} from "../core/doctor/facts.js";
import type { Group } from "../core/doctor/report.js";
import { isIrsaError } from "../core/errors.js";
import { isObject } from "../core/json.js";
import { DISCOVERY_PATH, JWKS_PATH } from "../core/oidc/discovery.js";
import { parseRoleArn, providerArn } from "../core/sts/arn.js";
import { loadKubeConfig } from "../adapters/kubernetes/kubeconfig.js";
import { dryRunPod, readMutatingWebhooks, reviewToken } from "../adapters/kubernetes/inspect.js";
import { readServiceAccount, requestToken } from "../adapters/kubernetes/objects.js";
import { kubeGet } from "../adapters/kubernetes/oidc.js";
import { probeHttps } from "../adapters/oidc/probe.js";
import { sentChain } from "../adapters/oidc/thumbprint.js";
import { probeServing } from "../adapters/tls-probe.js";

export interface DoctorOptions {
  readonly issuer: string | undefined;
  readonly caFile: string | undefined;
  /** Read the cluster through this kubeconfig (or the default chain when `cluster` is true). */
  readonly kubeconfig: string | undefined;
  readonly cluster: boolean;
  readonly serviceAccount: { readonly namespace: string; readonly name: string } | undefined;
  readonly annotationPrefix: string;
  /** The webhook's --token-audience; an account's <prefix>/audience wins. */
  readonly audience: string;
  readonly roleArn: string | undefined;
  readonly webhookConfiguration: string;
  /** IAM at another endpoint (moto); without it, AWS with the SDK's default credentials. */
  readonly endpointUrl: string | undefined;
  /** IAM's provider and role from the local STS's config file instead of AWS. */
  readonly stsConfig: string | undefined;
  readonly region: string;
  /** Where to exchange the token; without it, AWS STS when IAM is AWS itself. */
  readonly stsEndpoint: string | undefined;
  /** Seconds since the epoch. */
  readonly now: number;
}

function message(e: unknown): string {
  if (isIrsaError(e)) return e.message;
  const body = (e as { body?: unknown }).body;
  if (typeof body === "string" && body !== "") {
    try {
      const m = (JSON.parse(body) as { message?: unknown }).message;
      if (typeof m === "string") return m;
    } catch {
      // not JSON: fall through
    }
  }
  return e instanceof Error ? e.message : String(e);
}

async function attempt<T>(fn: () => Promise<T>): Promise<Gathered<T>> {
  try {
    return gathered(await fn());
  } catch (e) {
    return failed(message(e));
  }
}

function issuerOf(text: string): string | undefined {
  try {
    const doc = JSON.parse(text) as unknown;
    return isObject(doc) && typeof doc.issuer === "string" ? doc.issuer : undefined;
  } catch {
    return undefined;
  }
}

/** IAM's thumbprint of the host that served `f` (the last certificate it sends), when it can be had. */
async function withThumbprint(f: Fetch, caFile: string | undefined): Promise<Fetch> {
  if (!f.ok) return f;
  const u = new URL(f.value.url);
  try {
    const chain = await sentChain(
      u.hostname.replace(/^\[|\]$/g, ""),
      u.port === "" ? 443 : Number(u.port),
      caFile,
    );
    return { ok: true, value: { ...f.value, thumbprint: chain[chain.length - 1]?.sha1 } };
  } catch {
    return f;
  }
}

async function documents(
  issuer: string,
  caFile: string | undefined,
): Promise<{ discovery: Fetch; jwks: Fetch | undefined }> {
  const discovery = await withThumbprint(
    await probeHttps(`${issuer.replace(/\/$/, "")}${DISCOVERY_PATH}`, { caFile }),
    caFile,
  );
  if (!discovery.ok) return { discovery, jwks: undefined };
  let uri: unknown;
  try {
    uri = (JSON.parse(discovery.value.body) as { jwks_uri?: unknown }).jwks_uri;
  } catch {
    return { discovery, jwks: undefined };
  }
  if (typeof uri !== "string" || !uri.startsWith("https://")) return { discovery, jwks: undefined };
  return { discovery, jwks: await withThumbprint(await probeHttps(uri, { caFile }), caFile) };
}

interface Account {
  readonly sa:
    | Gathered<{ namespace: string; name: string; annotations: Record<string, string> | undefined }>
    | undefined;
  readonly roleArn: string | undefined;
  readonly audience: string;
}

async function account(kc: KubeConfig | undefined, o: DoctorOptions): Promise<Account> {
  const ref = o.serviceAccount;
  if (kc === undefined || ref === undefined)
    return { sa: undefined, roleArn: o.roleArn, audience: o.audience };
  const sa = await attempt(async () => {
    try {
      const s = await readServiceAccount(kc, ref.namespace, ref.name);
      return { ...ref, annotations: s.metadata?.annotations ?? {} };
    } catch (e) {
      if ((e as { code?: number }).code === 404) return { ...ref, annotations: undefined };
      throw e;
    }
  });
  const a = sa.ok ? sa.value.annotations : undefined;
  return {
    sa,
    roleArn: o.roleArn ?? a?.[`${o.annotationPrefix}/role-arn`],
    audience: a?.[`${o.annotationPrefix}/audience`] ?? o.audience,
  };
}

async function clusterFacts(kc: KubeConfig, o: DoctorOptions, acct: Account): Promise<ClusterFacts> {
  const [discovery, jwks] = await Promise.all([
    attempt(() => kubeGet(kc, DISCOVERY_PATH)),
    attempt(() => kubeGet(kc, JWKS_PATH)),
  ]);
  const ref = o.serviceAccount;
  const exists = acct.sa?.ok === true && acct.sa.value.annotations !== undefined;
  const token =
    ref === undefined || !exists
      ? undefined
      : await attempt(
          async () =>
            (
              await requestToken(kc, ref.namespace, ref.name, {
                audiences: [acct.audience],
                expirationSeconds: 600,
              })
            ).token,
        );
  const review = token?.ok === true ? await attempt(() => reviewToken(kc, token.value)) : undefined;
  return {
    server: kc.getCurrentCluster()?.server ?? "",
    discovery,
    jwks,
    serviceAccount: acct.sa,
    token,
    review,
  };
}

async function webhookFacts(kc: KubeConfig, o: DoctorOptions, acct: Account): Promise<WebhookFacts> {
  const webhooks = await attempt(() => readMutatingWebhooks(kc, o.webhookConfiguration));
  const hook = webhooks.ok ? webhooks.value?.find((w) => w.podsCreate) : undefined;
  let serving: WebhookFacts["serving"];
  if (hook?.url !== undefined && hook.caBundle !== undefined) {
    const ca = Buffer.from(hook.caBundle, "base64").toString("utf8");
    const url = hook.url;
    serving = await attempt(() => probeServing(url, ca));
  }
  const ref = o.serviceAccount;
  const exists = acct.sa?.ok === true && acct.sa.value.annotations !== undefined;
  const dryRun =
    ref === undefined || !exists ? undefined : await attempt(() => dryRunPod(kc, ref.namespace, ref.name));
  return { configuration: o.webhookConfiguration, webhooks, serving, dryRun };
}

/** The SDK found no credentials at all: IAM is left out rather than failed. */
function noCredentials(e: unknown): boolean {
  const cause = isIrsaError(e) ? e.cause : e;
  return cause instanceof Error && cause.name === "CredentialsProviderError";
}

async function iamFacts(o: DoctorOptions, issuer: string, roleArn: string): Promise<IamFacts | string> {
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
async function iamFromStsConfig(file: string, issuer: string, roleArn: string): Promise<IamFacts> {
  const { loadStsConfig } = await import("../adapters/sts/config.js");
  const source = `the STS config ${file}`;
  const role = parseRoleArn(roleArn);
  const hostPath = issuer.startsWith("https://") ? issuer.slice("https://".length) : issuer;
  const arn = providerArn(role?.partition ?? "aws", role?.account ?? "", hostPath);
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
      near === undefined
        ? undefined
        : providerArn(role?.partition ?? "aws", role?.account ?? "", near.hostPath),
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

async function exchangeFacts(o: DoctorOptions, token: string, roleArn: string): Promise<ExchangeFacts> {
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

export async function gatherFacts(o: DoctorOptions): Promise<DoctorFacts> {
  const skipped: Partial<Record<Group, string>> = {};
  let kc: KubeConfig | undefined;
  let kubeError: string | undefined;
  if (o.cluster) {
    try {
      kc = loadKubeConfig(o.kubeconfig, undefined);
    } catch (e) {
      kubeError = message(e);
    }
  }
  const noKube = o.cluster ? (kubeError ?? "no kubeconfig") : "--no-cluster";
  const acct = await account(kc, o);
  let issuer = o.issuer;
  let issuerSource = "--issuer";
  const cluster = kc === undefined ? undefined : await clusterFacts(kc, o, acct);
  if (issuer === undefined && cluster?.discovery.ok === true) {
    issuer = issuerOf(cluster.discovery.value);
    issuerSource = "the API server's --service-account-issuer";
  }
  if (kc === undefined) {
    skipped.cluster = noKube;
    skipped.webhook = noKube;
  }
  if (issuer === undefined)
    skipped.issuer = "no --issuer given, and no --kubeconfig to read the API server's";
  const https = issuer?.startsWith("https://") === true;
  const [docs, webhook] = await Promise.all([
    issuer !== undefined && https ? documents(issuer, o.caFile) : Promise.resolve(undefined),
    kc === undefined ? Promise.resolve(undefined) : webhookFacts(kc, o, acct),
  ]);
  let iam: IamFacts | undefined;
  if (issuer === undefined || acct.roleArn === undefined) {
    skipped.iam =
      acct.roleArn === undefined ? "no role: give --service-account (annotated) or --role-arn" : "no issuer";
  } else {
    const r =
      o.stsConfig !== undefined
        ? await iamFromStsConfig(o.stsConfig, issuer, acct.roleArn)
        : await iamFacts(o, issuer, acct.roleArn);
    if (typeof r === "string") skipped.iam = r;
    else iam = r;
  }
  let exchange: ExchangeFacts | undefined;
  const token = cluster?.token;
  if (
    o.stsEndpoint === undefined &&
    (iam === undefined || o.endpointUrl !== undefined || o.stsConfig !== undefined)
  ) {
    skipped.exchange = "no --sts-endpoint (an emulator's IAM endpoint is no STS that checks tokens)";
  } else if (token?.ok !== true || acct.roleArn === undefined) {
    skipped.exchange = "no token and role to exchange: give --kubeconfig and --service-account";
  } else {
    exchange = await exchangeFacts(o, token.value, acct.roleArn);
  }
  return {
    now: o.now,
    issuer,
    issuerSource,
    caFile: o.caFile,
    audience: acct.audience,
    roleArn: acct.roleArn,
    roleAnnotation: `${o.annotationPrefix}/role-arn`,
    serviceAccount: o.serviceAccount,
    discovery: docs?.discovery,
    jwks: docs?.jwks,
    cluster,
    webhook,
    iam,
    exchange,
    skipped,
  };
}
