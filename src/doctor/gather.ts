/**
 * Gathers doctor's facts through the adapters: the issuer's documents over HTTPS, the cluster
 * through the kubeconfig, IAM and STS through the AWS SDK (aws-facts.ts). Every failure becomes a fact; a part
 * without its inputs is left out with the reason.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import {
  type ClusterFacts,
  type DoctorFacts,
  type ExchangeFacts,
  type Fetch,
  type Gathered,
  type IamFacts,
  type WebhookFacts,
} from "../core/doctor/facts.js";
import type { Group } from "../core/doctor/report.js";
import { isObject } from "../core/json.js";
import { DISCOVERY_PATH, JWKS_PATH } from "../core/oidc/discovery.js";
import { loadKubeConfig } from "../adapters/kubernetes/kubeconfig.js";
import { dryRunPod, readMutatingWebhooks, reviewToken } from "../adapters/kubernetes/inspect.js";
import { readServiceAccount, requestToken } from "../adapters/kubernetes/objects.js";
import { kubeGet } from "../adapters/kubernetes/oidc.js";
import { probeHttps } from "../adapters/oidc/probe.js";
import { sentChain } from "../adapters/oidc/thumbprint.js";
import { probeServing } from "../adapters/tls-probe.js";
import { attempt, message } from "./attempt.js";
import { exchangeFacts, iamFacts, iamFromStsConfig } from "./aws-facts.js";

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
  // The scheme in any case, as the jwks check's URL parser reads it (RFC 3986: schemes are case-
  // insensitive); a jwks_uri it refuses fails that check, which names why.
  if (typeof uri !== "string" || !/^https:\/\//i.test(uri)) return { discovery, jwks: undefined };
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
