/**
 * `irsa webhook`: the admission server, a drop-in for amazon-eks-pod-identity-webhook. Thin:
 * parses and checks the flags, then hands them to the deployable's wiring (src/webhook/main.ts).
 */
import { parseGoDuration } from "../../core/go/parse.js";
import { LOG_LEVELS } from "../../runtime/log.js";
import { DEFAULT_GRACE_PERIOD_MS } from "../../webhook/admit.js";
import { oneOf, str, usageError, type Command, type CommandBody, type Values } from "../command.js";
import { WEBHOOK_FLAG_OPTIONS, webhookConfigFromFlags, webhookFlagsHelp } from "../webhook-flags.js";

const DEFAULTS = {
  port: 443,
  metricsPort: 9999,
  tlsCert: "/etc/webhook/certs/tls.crt",
  tlsKey: "/etc/webhook/certs/tls.key",
  namespace: "eks",
} as const;

function port(values: Values, name: string, fallback: number, cmd: Command): number {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) > 65535) {
    throw usageError(`--${name} must be a port number (0-65535), got "${v}"`, cmd);
  }
  return Number(v);
}

export const webhook: CommandBody = {
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
    // Loaded only now: the kube client and the server stack are not needed for --help or usage errors.
    const { runWebhook } = await import("../../webhook/main.js");
    return runWebhook({
      config,
      host: str(values, "bind-address") || undefined,
      port: httpsPort,
      metricsPort,
      tlsCertFile: str(values, "tls-cert") ?? DEFAULTS.tlsCert,
      tlsKeyFile: str(values, "tls-key") ?? DEFAULTS.tlsKey,
      kubeconfig: str(values, "kubeconfig"),
      kubeApi: str(values, "kube-api"),
      watchNamespace,
      gracePeriodMs: graceMs,
      logLevel: oneOf(values, "log-level", LOG_LEVELS, "info", this),
    });
  },
};
