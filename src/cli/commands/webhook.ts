/**
 * `irsa webhook`: the admission server, a drop-in for amazon-eks-pod-identity-webhook. Thin:
 * parse flags, build the adapters (kubeconfig, ServiceAccount cache, logger, metrics), start,
 * and stop gracefully on SIGTERM/SIGINT.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { pino, type Logger } from "pino";
import { IrsaError } from "../../core/errors.js";
import { parseContainerCredentialsIdentities } from "../../core/mutate/index.js";
import { parseGoDuration } from "../../core/go/parse.js";
import { DEFAULT_GRACE_PERIOD_MS, podAdmitter } from "../../webhook/admit.js";
import {
  kubeServiceAccountSource,
  ServiceAccountCache,
  serviceAccountAnnotationKeys,
} from "../../webhook/sa-cache.js";
import { startWebhookServer, watchContainerCredentials, WebhookMetrics } from "../../webhook/server.js";
import { oneOf, str, usageError, type Command, type Values } from "../command.js";
import { WEBHOOK_FLAG_OPTIONS, webhookConfigFromFlags, webhookFlagsHelp } from "../webhook-flags.js";

const DEFAULTS = {
  port: 443,
  metricsPort: 9999,
  tlsCert: "/etc/webhook/certs/tls.crt",
  tlsKey: "/etc/webhook/certs/tls.key",
  namespace: "eks",
} as const;

const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

function port(values: Values, name: string, fallback: number, cmd: Command): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) > 65535) {
    throw usageError(`--${name} must be a port number (0-65535), got "${v}"`, cmd);
  }
  return Number(v);
}

function loadKubeConfig(kubeconfig: string | undefined, kubeApi: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig !== undefined && kubeconfig !== "") kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new IrsaError(
      "INPUT_INVALID",
      `cannot load kubeconfig${kubeconfig ? ` ${kubeconfig}` : ""}: ${(e as Error).message}`,
      "give --kubeconfig, or run in a pod with a service account token",
      { cause: e },
    );
  }
  const current = kc.getCurrentCluster();
  // loadFromDefault's last resort when it finds nothing: an unauthenticated http://localhost:8080.
  const nothingFound = current?.name === "cluster" && current.server === "http://localhost:8080";
  if (nothingFound && (kubeconfig === undefined || kubeconfig === "")) {
    throw new IrsaError(
      "INPUT_INVALID",
      "no kubeconfig found: --kubeconfig not given, $KUBECONFIG and ~/.kube/config absent, and not running in a pod",
      "give --kubeconfig, or run in a pod with a service account token",
    );
  }
  if (current === null) {
    throw new IrsaError(
      "INPUT_INVALID",
      "the kubeconfig has no current cluster",
      "set current-context, or give --kubeconfig",
    );
  }
  if (kubeApi !== undefined && kubeApi !== "") {
    kc.loadFromOptions({
      clusters: kc.clusters.map((c) => (c.name === current.name ? { ...c, server: kubeApi } : c)),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
  }
  return kc;
}

function waitForSignal(log: Logger): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off("SIGTERM", on);
      process.off("SIGINT", on);
      log.info({ signal: sig }, "signal received");
      resolve(sig);
    };
    process.on("SIGTERM", on);
    process.on("SIGINT", on);
  });
}

export const webhook: Command = {
  path: ["webhook"],
  summary: "run the pod identity admission webhook (drop-in for amazon-eks-pod-identity-webhook)",
  help: `Usage: irsa webhook [options] [webhook flags]

Serves the mutating admission webhook on https://:PORT/mutate: pods whose ServiceAccount has a
<prefix>/role-arn annotation get AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and a projected token
volume (pods listed in the container credentials config get EKS Pod Identity's variables instead).
Same flags and defaults as amazon-eks-pod-identity-webhook, out-of-cluster TLS mode.

It watches ServiceAccounts (get, list, watch). A pod whose ServiceAccount is not in the cache yet
(created moments before the pod) waits up to the grace period while one GET per account asks the
API server directly. It never denies a pod: failures admit it unchanged, with a warning.

The TLS certificate and key are re-read when they change on disk (a bad new pair is logged and the
old one kept). Plain HTTP on --metrics-port: /metrics (Prometheus), /healthz (alive), /readyz (200
once the ServiceAccount cache has synced). JSON logs on stdout. SIGTERM or SIGINT: stops accepting,
finishes in-flight reviews, exits 0.

Options:
  --port N                    HTTPS port for /mutate (0: any free port)         default ${DEFAULTS.port}
  --metrics-port N            HTTP port for metrics and health                  default ${DEFAULTS.metricsPort}
  --bind-address A            address both servers listen on                    default all
  --tls-cert F                serving certificate (PEM, may include the chain)  default ${DEFAULTS.tlsCert}
  --tls-key F                 its private key (PEM)                             default ${DEFAULTS.tlsKey}
  --kubeconfig F              kubeconfig; else $KUBECONFIG, ~/.kube/config or in-cluster
  --kube-api URL              API server URL, overriding the kubeconfig's
  --watch-namespace NS        only watch ServiceAccounts (and mutate pods) in NS default all
  --service-account-lookup-grace-period D
                              how long a pod waits for a ServiceAccount missing from the cache,
                              a Go duration (0 disables waiting); a pod's
                              <prefix>/service-account-lookup-grace-period annotation (ms)
                              overrides it                                      default 1s
  --log-level L               debug, info, warn or error                        default info

Accepted for compatibility with amazon-eks-pod-identity-webhook's out-of-cluster mode:
  --namespace NS              the webhook's own namespace (upstream: for in-cluster certificates;
                              not a watch restriction, see --watch-namespace)   default ${DEFAULTS.namespace}
  --in-cluster=false          certificates from the CSR API (upstream's default) are not supported
  --service-name S, --tls-secret S, --logtostderr   ignored

Webhook flags (upstream's names and defaults; booleans bare or as --flag=true|false):
${webhookFlagsHelp()}`,
  options: {
    port: { type: "string" },
    "metrics-port": { type: "string" },
    "bind-address": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    kubeconfig: { type: "string" },
    "kube-api": { type: "string" },
    "watch-namespace": { type: "string" },
    "service-account-lookup-grace-period": { type: "string" },
    "log-level": { type: "string" },
    namespace: { type: "string" },
    "in-cluster": { type: "boolean" },
    "service-name": { type: "string" },
    "tls-secret": { type: "string" },
    logtostderr: { type: "boolean" },
    ...WEBHOOK_FLAG_OPTIONS,
  },
  async run(values) {
    const config = webhookConfigFromFlags(values, this);
    const httpsPort = port(values, "port", DEFAULTS.port, this);
    const metricsPort = port(values, "metrics-port", DEFAULTS.metricsPort, this);
    if (values["in-cluster"] === true) {
      throw usageError(
        "--in-cluster=true (certificates from the CSR API) is not supported: give the serving certificate with --tls-cert and --tls-key (e.g. from cert-manager) and pass --in-cluster=false",
        this,
      );
    }
    const graceText = str(values, "service-account-lookup-grace-period");
    const graceMs = graceText === undefined ? DEFAULT_GRACE_PERIOD_MS : parseGoDuration(graceText);
    if (graceMs === undefined || graceMs < 0) {
      throw usageError(
        `--service-account-lookup-grace-period must be a duration such as 500ms, 1s or 0, got "${graceText ?? ""}"`,
        this,
      );
    }
    const watchNamespace = str(values, "watch-namespace") || undefined;
    const level = oneOf(values, "log-level", LOG_LEVELS, "info", this);
    const log = pino({
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { component: "irsa-webhook" },
    });

    const kc = loadKubeConfig(str(values, "kubeconfig"), str(values, "kube-api"));
    const ccFile = config.watchContainerCredentialsConfig;
    const cc =
      ccFile === ""
        ? undefined
        : await watchContainerCredentials(ccFile, parseContainerCredentialsIdentities, log);

    const metrics = new WebhookMetrics();
    const cache = new ServiceAccountCache(kubeServiceAccountSource(kc, watchNamespace), {
      annotationKeys: serviceAccountAnnotationKeys(config.annotationPrefix),
      namespace: watchNamespace,
      getTimeoutMs: Math.max(graceMs, 1),
      log,
      onGet: metrics.onGet,
      onSynced: metrics.onSynced,
    });
    const signal = waitForSignal(log);
    log.info(
      {
        apiServer: kc.getCurrentCluster()?.server,
        watchNamespace: watchNamespace ?? "(all)",
        gracePeriodMs: graceMs,
        annotationPrefix: config.annotationPrefix,
      },
      "starting",
    );
    cache.start();
    let server;
    try {
      server = await startWebhookServer({
        host: str(values, "bind-address") || undefined,
        port: httpsPort,
        metricsPort,
        tlsCertFile: str(values, "tls-cert") ?? DEFAULTS.tlsCert,
        tlsKeyFile: str(values, "tls-key") ?? DEFAULTS.tlsKey,
        admitPod: podAdmitter({
          config,
          cache,
          gracePeriodMs: graceMs,
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
  },
};
