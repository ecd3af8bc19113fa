/**
 * The webhook deployable's wiring: logger, kubeconfig, ServiceAccount cache, container-credentials
 * list, metrics and the HTTPS server; runs until SIGTERM or SIGINT, then drains and stops.
 */
import type { WebhookConfig } from "../core/mutate/config.js";
import { parseContainerCredentialsIdentities } from "../core/mutate/index.js";
import { loadKubeConfig } from "../adapters/kubernetes/kubeconfig.js";
import { kubeServiceAccountSource } from "../adapters/kubernetes/service-accounts.js";
import type { LogLevel } from "../runtime/log.js";
import { createLogger } from "../runtime/logger.js";
import { waitForSignal } from "../runtime/signals.js";
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
  readonly kubeconfig: string | undefined;
  readonly kubeApi: string | undefined;
  /** Only this namespace's ServiceAccounts (and pods); undefined: all. */
  readonly watchNamespace: string | undefined;
  readonly gracePeriodMs: number;
  readonly logLevel: LogLevel;
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

  const metrics = new WebhookMetrics();
  const cache = new ServiceAccountCache(kubeServiceAccountSource(kc, o.watchNamespace), {
    annotationKeys: serviceAccountAnnotationKeys(o.config.annotationPrefix),
    namespace: o.watchNamespace,
    getTimeoutMs: Math.max(o.gracePeriodMs, 1),
    log,
    onGet: metrics.onGet,
    onSynced: metrics.onSynced,
  });
  metrics.trackDisconnected(() => cache.disconnectedForMs());
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
  let server;
  try {
    server = await startWebhookServer({
      host: o.host,
      port: o.port,
      metricsPort: o.metricsPort,
      tlsCertFile: o.tlsCertFile,
      tlsKeyFile: o.tlsKeyFile,
      admitPod: podAdmitter({
        config: o.config,
        cache,
        gracePeriodMs: o.gracePeriodMs,
        containerCredentials: cc === undefined ? undefined : () => cc.current(),
      }),
      ready: () => cache.synced(),
      log,
      metrics,
    });
  } catch (e) {
    await cache.stop();
    cc?.close();
    throw e;
  }
  await signal;
  await server.close();
  await cache.stop();
  cc?.close();
  log.flush();
  return 0;
}
