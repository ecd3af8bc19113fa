/**
 * The webhook deployable's wiring: logger, kubeconfig, ServiceAccount cache, container-credentials
 * list, metrics and the HTTPS server; runs until SIGTERM or SIGINT, then drains and stops.
 */
import type { WebhookConfig } from "../core/mutate/config.js";
import {
  CONFIG_MAP_NAME,
  parseConfigMapEntries,
  parseContainerCredentialsIdentities,
  partitionForRegion,
  serviceAccountSettingsFromAnnotations,
  type ComposeRoleArn,
  type ConfigMapEntries,
} from "../core/mutate/index.js";
import { instanceIdentity } from "../adapters/imds.js";
import { kubeConfigMapReader } from "../adapters/kubernetes/config-maps.js";
import { loadKubeConfig } from "../adapters/kubernetes/kubeconfig.js";
import { kubeServiceAccountSource } from "../adapters/kubernetes/service-accounts.js";
import type { SecureVersion } from "node:tls";
import type { Log, LogLevel } from "../runtime/log.js";
import { createLogger } from "../runtime/logger.js";
import { onHangup, waitForSignal } from "../runtime/signals.js";
import type { KubeConfig } from "@kubernetes/client-node";
import { isIP } from "node:net";
import { kubeTlsObjects } from "../adapters/kubernetes/tls-secret.js";
import { ManagedTls } from "./managed-tls.js";
import { podAdmitter } from "./admit.js";
import { watchContainerCredentials } from "./container-credentials.js";
import { WebhookMetrics } from "./metrics.js";
import { ServiceAccountCache, serviceAccountAnnotationKeys } from "./sa-cache.js";
import { startWebhookServer } from "./server.js";

export interface WebhookOptions {
  readonly config: WebhookConfig;
  readonly host: string | undefined;
  readonly port: number;
  readonly metricsPort: number;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  /** --self-signed-tls: its own CA and certificate in a Secret (then the TLS files are not read). */
  readonly selfSignedTls?: SelfSignedTlsOptions;
  /** --client-ca-file: require a client certificate this CA issued. */
  readonly clientCaFile?: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly kubeApi: string | undefined;
  /** Only this namespace's ServiceAccounts (and pods); undefined: all. */
  readonly watchNamespace: string | undefined;
  readonly gracePeriodMs: number;
  readonly logLevel: LogLevel;
  /** --tls-min-version, --tls-cipher-suites. */
  readonly secureOptions?: { readonly minVersion?: SecureVersion; readonly ciphers?: string };
  /** --compose-role-arn; the account from IMDS when not given. */
  readonly composeRoleArn?: { readonly accountId: string | undefined };
  /** --watch-config-map: the ConfigMap's namespace and how often it is re-read. */
  readonly watchConfigMap?: { readonly namespace: string; readonly pollMs: number };
  /** --enable-debugging-handlers. */
  readonly debuggingHandlers?: boolean;
}

export interface SelfSignedTlsOptions {
  /** --namespace: where the Secret is. */
  readonly namespace: string;
  /** --tls-secret. */
  readonly secret: string;
  /** --service-name: the serving certificate's DNS names are this Service's. */
  readonly serviceName: string;
  /** --webhook-config-name: the MutatingWebhookConfiguration whose caBundle is patched. */
  readonly webhookConfig: string;
  /** --tls-san: further DNS names and IP addresses. */
  readonly extraSans: readonly string[];
  /** --tls-resync-period. */
  readonly resyncMs: number;
}

/** How long a new CA stays in the caBundle before a serving certificate it signed is served. */
const CA_PROPAGATION_MS = 10 * 60_000;

function managedTls(kc: KubeConfig, s: SelfSignedTlsOptions, o: WebhookOptions, log: Log): ManagedTls {
  const svc = s.serviceName;
  const dnsNames = [
    svc,
    `${svc}.${s.namespace}`,
    `${svc}.${s.namespace}.svc`,
    `${svc}.${s.namespace}.svc.cluster.local`,
  ];
  const ipAddresses: string[] = [];
  for (const san of s.extraSans) (isIP(san) === 0 ? dnsNames : ipAddresses).push(san);
  return new ManagedTls({
    objects: kubeTlsObjects(kc, { namespace: s.namespace, secret: s.secret, webhookConfig: s.webhookConfig }),
    names: { dnsNames, ipAddresses },
    commonName: `${svc}.${s.namespace}.svc`,
    where: { secret: `${s.namespace}/${s.secret}`, webhookConfig: s.webhookConfig },
    resyncMs: s.resyncMs,
    caPropagationMs: Math.max(CA_PROPAGATION_MS, 2 * s.resyncMs),
    clientCaFile: o.clientCaFile,
    log,
  });
}

async function composeRoleArn(o: WebhookOptions): Promise<ComposeRoleArn | undefined> {
  if (o.composeRoleArn === undefined) return undefined;
  if (o.composeRoleArn.accountId !== undefined) {
    return {
      accountId: o.composeRoleArn.accountId,
      partition: partitionForRegion(o.config.awsDefaultRegion),
    };
  }
  const id = await instanceIdentity();
  return { accountId: id.accountId, partition: partitionForRegion(id.region) };
}

/** Re-reads the ConfigMap every `pollMs`; a bad or unreadable one keeps the last good entries. */
function watchConfigMap(
  read: () => Promise<Readonly<Record<string, string>> | undefined>,
  o: WebhookOptions,
  log: Log,
): { current: () => ConfigMapEntries; close: () => void } {
  let entries: ConfigMapEntries = new Map();
  let last: string | undefined;
  const poll = async (): Promise<void> => {
    try {
      const config = (await read())?.config;
      if (config === last) return;
      entries = parseConfigMapEntries(config, o.config.tokenExpiration);
      last = config;
      log.info({ configMap: CONFIG_MAP_NAME, serviceAccounts: entries.size }, "ConfigMap read");
    } catch (e) {
      log.warn(
        { configMap: CONFIG_MAP_NAME, err: (e as Error).message },
        "ConfigMap not read; keeping the last entries",
      );
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), Math.max(o.watchConfigMap?.pollMs ?? 10_000, 1000));
  timer.unref();
  return {
    current: () => entries,
    close: () => {
      clearInterval(timer);
    },
  };
}

/** Runs the webhook until a signal; resolves with the exit code. Rejects (IrsaError) on bad setup. */
export async function runWebhook(o: WebhookOptions): Promise<number> {
  const log = createLogger("irsa-webhook", o.logLevel);
  const kc = loadKubeConfig(o.kubeconfig, o.kubeApi);
  const ccFile = o.config.watchContainerCredentialsConfig;
  const cc =
    ccFile === ""
      ? undefined
      : await watchContainerCredentials(ccFile, parseContainerCredentialsIdentities, log);

  const compose = await composeRoleArn(o);
  const cm =
    o.watchConfigMap === undefined
      ? undefined
      : watchConfigMap(kubeConfigMapReader(kc, o.watchConfigMap.namespace, CONFIG_MAP_NAME), o, log);
  const metrics = new WebhookMetrics();
  const cache = new ServiceAccountCache(kubeServiceAccountSource(kc, o.watchNamespace), {
    annotationKeys: serviceAccountAnnotationKeys(o.config.annotationPrefix),
    namespace: o.watchNamespace,
    getTimeoutMs: Math.max(o.gracePeriodMs, 1),
    log,
    onGet: metrics.onGet,
    onGetSkipped: metrics.onGetSkipped,
    onSynced: metrics.onSynced,
  });
  metrics.trackDisconnected(() => cache.disconnectedForMs());
  // Upstream's /debug/alpha/cache: the cached accounts' settings, keyed "namespace/name".
  const dumpCache = (): string => {
    const out: Record<string, unknown> = {};
    for (const [key, annotations] of cache.entries()) {
      const sa = serviceAccountSettingsFromAnnotations(annotations, o.config, { composeRoleArn: compose });
      out[key] = {
        RoleARN: sa.roleArn,
        Audience: sa.audience,
        UseRegionalSTS: sa.useRegionalSts,
        TokenExpiration: sa.tokenExpiration,
      };
    }
    return JSON.stringify(out, null, 1);
  };
  const signal = waitForSignal(log);
  log.info(
    {
      apiServer: kc.getCurrentCluster()?.server,
      watchNamespace: o.watchNamespace ?? "(all)",
      gracePeriodMs: o.gracePeriodMs,
      annotationPrefix: o.config.annotationPrefix,
    },
    "starting",
  );
  cache.start();
  const managed = o.selfSignedTls === undefined ? undefined : managedTls(kc, o.selfSignedTls, o, log);
  const offHangup = managed === undefined ? undefined : onHangup(log, () => void managed.renewNow());
  let server;
  try {
    server = await startWebhookServer({
      host: o.host,
      port: o.port,
      metricsPort: o.metricsPort,
      ...(managed === undefined
        ? { tlsCertFile: o.tlsCertFile, tlsKeyFile: o.tlsKeyFile }
        : { tls: (hooks) => managed.start(hooks) }),
      clientCaFile: o.clientCaFile,
      admitPod: podAdmitter({
        config: o.config,
        cache,
        gracePeriodMs: o.gracePeriodMs,
        containerCredentials: cc === undefined ? undefined : () => cc.current(),
        composeRoleArn: compose,
        configMap: cm === undefined ? undefined : () => cm.current(),
      }),
      secureOptions: o.secureOptions,
      metricsRoutes: o.debuggingHandlers === true ? { "/debug/alpha/cache": dumpCache } : undefined,
      ready: () => cache.synced(),
      log,
      metrics,
    });
  } catch (e) {
    offHangup?.();
    managed?.close();
    await cache.stop();
    cc?.close();
    cm?.close();
    throw e;
  }
  await signal;
  offHangup?.();
  managed?.close();
  await server.close();
  await cache.stop();
  cc?.close();
  cm?.close();
  log.flush();
  return 0;
}
