/**
 * `irsa webhook`: the admission server, a drop-in for amazon-eks-pod-identity-webhook. Thin:
 * parses and checks the flags, then hands them to the deployable's wiring (src/webhook/main.ts).
 */
import { LOG_LEVELS } from "../../runtime/log.js";
import { DEFAULT_GRACE_PERIOD_MS } from "../../webhook/admit.js";
import {
  durationOption,
  oneOf,
  portOption,
  str,
  usageError,
  type Command,
  type CommandBody,
  type Values,
} from "../command.js";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import {
  NO_EFFECT_FLAGS,
  WEBHOOK_FLAG_OPTIONS,
  goStyleArgs,
  logLevelForVerbosity,
  tlsCiphers,
  tlsMinVersion,
  webhookConfigFromFlags,
  webhookFlagsHelp,
} from "../webhook-flags.js";

const DEFAULTS = {
  port: 443,
  metricsPort: 9999,
  tlsCert: "/etc/webhook/certs/tls.crt",
  tlsKey: "/etc/webhook/certs/tls.key",
  namespace: "eks",
  resyncPeriodMs: 60_000,
  tlsSecret: "pod-identity-webhook",
  serviceName: "pod-identity-webhook",
  webhookConfigName: "pod-identity-webhook",
  tlsResyncMs: 60_000,
} as const;

/** How often the --watch-config-map ConfigMap is re-read at most (or --resync-period, if shorter). */
const CONFIG_MAP_POLL_MS = 10_000;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../../package.json", import.meta.url), "utf8")) as {
    version?: string;
  };
  return `irsa-anywhere ${pkg.version ?? "unknown"}`;
}

const EXAMPLES = "500ms, 1s or 0";

const DNS_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SAN = /^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;

/** --self-signed-tls and the flags that name what it keeps; undefined without it. */
function selfSignedTlsFlags(values: Values, cmd: Command) {
  const names = ["tls-san", "tls-resync-period", "webhook-config-name"] as const;
  if (values["self-signed-tls"] !== true) {
    const stray = names.filter((n) => values[n] !== undefined);
    if (stray.length > 0) {
      throw usageError(`${stray.map((n) => `--${n}`).join(", ")} only apply with --self-signed-tls`, cmd);
    }
    return undefined;
  }
  const name = (flag: string, fallback: string): string => {
    const v = str(values, flag) ?? fallback;
    if (v.length > 253 || !DNS_1123.test(v)) {
      throw usageError(
        `--${flag} must be a Kubernetes object name (lower case, digits, '-'), got "${v}"`,
        cmd,
      );
    }
    return v;
  };
  const extraSans = (str(values, "tls-san") ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
  for (const san of extraSans) {
    if (isIP(san) === 0 && !SAN.test(san)) {
      throw usageError(`--tls-san: "${san}" is neither a DNS name nor an IP address`, cmd);
    }
  }
  const resyncMs = durationOption(values, "tls-resync-period", DEFAULTS.tlsResyncMs, cmd, {
    timer: true,
    examples: EXAMPLES,
  });
  if (resyncMs < 1000) throw usageError("--tls-resync-period must be at least 1s", cmd);
  return {
    namespace: name("namespace", DEFAULTS.namespace),
    secret: name("tls-secret", DEFAULTS.tlsSecret),
    serviceName: name("service-name", DEFAULTS.serviceName),
    webhookConfig: name("webhook-config-name", DEFAULTS.webhookConfigName),
    extraSans,
    resyncMs,
  };
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
  --client-ca-file F          require a client certificate issued by this CA (PEM): the one
                              kube-apiserver presents through its AdmissionConfiguration;
                              re-read when it changes                           default none
  --kubeconfig F              kubeconfig; else $KUBECONFIG, ~/.kube/config or in-cluster
  --kube-api URL              API server URL, overriding the kubeconfig's
  --watch-namespace NS        only watch ServiceAccounts (and mutate pods) in NS default all
  --service-account-lookup-grace-period D
                              how long a pod waits for a ServiceAccount missing from the cache,
                              a Go duration (0 disables waiting); a pod's
                              <prefix>/service-account-lookup-grace-period annotation (ms)
                              overrides it                                      default 1s
  --log-level L               debug, info, warn or error                        default info

Self-signed TLS (no cert-manager): the webhook keeps its own CA and serving certificate
  --self-signed-tls           keep a CA and a serving certificate in the Secret --tls-secret in
                              --namespace (created if absent; replicas starting at once agree on
                              one), serve it (--tls-cert/--tls-key are not read), patch the CA into
                              the caBundle of --webhook-config-name, renew the certificate at two
                              thirds of its 90 days (the CA at two thirds of its 10 years); SIGHUP
                              renews the certificate now. RBAC: get, update on that Secret, create
                              on secrets in the namespace, get, patch on that configuration
  --tls-secret NAME           the Secret                                        default ${DEFAULTS.tlsSecret}
  --service-name NAME         the Service in front of the webhook: the certificate is for NAME,
                              NAME.NS, NAME.NS.svc and NAME.NS.svc.cluster.local default ${DEFAULTS.serviceName}
  --webhook-config-name NAME  the MutatingWebhookConfiguration                  default ${DEFAULTS.webhookConfigName}
  --tls-san LIST              further DNS names or IP addresses, comma-separated (e.g. 127.0.0.1
                              for a webhook registered by URL)
  --tls-resync-period D       how often the Secret is re-read (another replica's renewal is
                              served within this) and renewal checked          default 1m0s

Upstream's other flags (amazon-eks-pod-identity-webhook's --help lists them all; Go syntax: -flag or
--flag, =value or a separate value):
  --tls-min-version V         1.0, 1.1, 1.2 or 1.3 (or VersionTLS12)           default 1.2
  --tls-cipher-suites LIST    Go cipher suite names, comma-separated (TLS 1.2 and below)
  --version                   print the version and exit
  --compose-role-arn          a role-arn annotation without "arn:" is a role name or path: the ARN
                              is built with the account (--compose-role-arn-account-id, else the
                              EC2 instance identity document) and the partition of its region
  --compose-role-arn-account-id ID
                              the account for --compose-role-arn (not an upstream flag)
  --watch-config-map          also read ServiceAccount settings from the ConfigMap
                              pod-identity-webhook in --namespace (data.config, upstream's format),
                              re-read every 10 s (or --resync-period if shorter)
  --resync-period D           Go duration; only paces --watch-config-map (the ServiceAccount watch
                              keeps the cache exact without a resync)                default 1m0s
  --enable-debugging-handlers GET /debug/alpha/cache on the metrics port: the cached accounts'
                              settings as JSON
  -v, --v N                   klog verbosity: 4 or more is --log-level=debug, else info
  --namespace NS              the webhook's own namespace (the ConfigMap's and the --self-signed-tls
                              Secret's; not a watch restriction, see --watch-namespace)
                                                                                default ${DEFAULTS.namespace}
  --in-cluster=false          certificates from the CSR API (upstream's default) are not supported
  klog's --logtostderr, --alsologtostderr, --alsologtostderrthreshold,
  --stderrthreshold, --vmodule, --log_dir, --log_file, --log_file_max_size, --log_backtrace_at,
  --add_dir_header, --skip_headers, --skip_log_headers, --one_output,
  --legacy_stderr_threshold_behavior: accepted with a notice that they have no effect

Webhook flags (upstream's names and defaults; booleans bare or as --flag=true|false):
${webhookFlagsHelp()}`,
  options: {
    port: { type: "string" },
    "metrics-port": { type: "string" },
    "bind-address": { type: "string" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "client-ca-file": { type: "string" },
    kubeconfig: { type: "string" },
    "kube-api": { type: "string" },
    "watch-namespace": { type: "string" },
    "service-account-lookup-grace-period": { type: "string" },
    "log-level": { type: "string" },
    namespace: { type: "string" },
    "in-cluster": { type: "boolean" },
    "tls-min-version": { type: "string" },
    "tls-cipher-suites": { type: "string" },
    version: { type: "boolean" },
    "compose-role-arn": { type: "boolean" },
    "compose-role-arn-account-id": { type: "string" },
    "watch-config-map": { type: "boolean" },
    "resync-period": { type: "string" },
    "enable-debugging-handlers": { type: "boolean" },
    "self-signed-tls": { type: "boolean" },
    "tls-secret": { type: "string" },
    "service-name": { type: "string" },
    "webhook-config-name": { type: "string" },
    "tls-san": { type: "string" },
    "tls-resync-period": { type: "string" },
    v: { type: "string" },
    ...Object.fromEntries(Object.entries(NO_EFFECT_FLAGS).map(([name, type]) => [name, { type }])),
    ...WEBHOOK_FLAG_OPTIONS,
  },
  normalizeArgs(argv) {
    return goStyleArgs(argv, this.options);
  },
  async run(values, _positionals, io) {
    if (values.version === true) {
      io.out(`${version()}\n`);
      return 0;
    }
    const ignored = Object.keys(NO_EFFECT_FLAGS).filter((f) => values[f] !== undefined);
    if (ignored.length > 0) {
      io.err(
        `irsa webhook: ${ignored.map((f) => `--${f}`).join(", ")}: accepted for compatibility, no effect (logs are JSON on stdout)\n`,
      );
    }
    const unused = ["tls-secret", "service-name"].filter((f) => values[f] !== undefined);
    if (values["self-signed-tls"] !== true && unused.length > 0) {
      io.err(
        `irsa webhook: ${unused.map((f) => `--${f}`).join(", ")}: no effect without --self-signed-tls\n`,
      );
    }
    const config = webhookConfigFromFlags(values, this);
    const httpsPort = portOption(values, "port", DEFAULTS.port, this);
    const metricsPort = portOption(values, "metrics-port", DEFAULTS.metricsPort, this);
    if (values["in-cluster"] === true) {
      throw usageError(
        "--in-cluster=true (certificates from the CSR API) is not supported: pass --in-cluster=false with --self-signed-tls (its own CA in a Secret), or with --tls-cert and --tls-key (e.g. from cert-manager)",
        this,
      );
    }
    const graceMs = durationOption(
      values,
      "service-account-lookup-grace-period",
      DEFAULT_GRACE_PERIOD_MS,
      this,
      { timer: true, examples: EXAMPLES },
    );
    // Only paces the ConfigMap poll (at most every 10 s): any length is harmless.
    const resyncMs = durationOption(values, "resync-period", DEFAULTS.resyncPeriodMs, this, {
      examples: EXAMPLES,
    });
    const minText = str(values, "tls-min-version");
    const minVersion = minText === undefined || minText === "" ? undefined : tlsMinVersion(minText);
    if (minText !== undefined && minText !== "" && minVersion === undefined) {
      throw usageError(`--tls-min-version must be 1.0, 1.1, 1.2 or 1.3, got "${minText}"`, this);
    }
    let ciphers: string | undefined;
    try {
      ciphers = tlsCiphers(str(values, "tls-cipher-suites") ?? "");
    } catch (e) {
      throw usageError(`--tls-cipher-suites: ${(e as Error).message}`, this);
    }
    const vText = str(values, "v");
    if (vText !== undefined && !/^[0-9]+$/.test(vText)) {
      throw usageError(`-v must be a verbosity level (0, 1, 2, ...), got "${vText}"`, this);
    }
    const verbosityLevel = vText === undefined ? "info" : logLevelForVerbosity(Number(vText));
    const accountId = str(values, "compose-role-arn-account-id");
    if (accountId !== undefined && !/^[0-9]{12}$/.test(accountId)) {
      throw usageError(
        `--compose-role-arn-account-id must be a 12-digit account ID, got "${accountId}"`,
        this,
      );
    }
    const watchNamespace = str(values, "watch-namespace") || undefined;
    const selfSignedTls = selfSignedTlsFlags(values, this);
    // Loaded only now: the kube client and the server stack are not needed for --help or usage errors.
    const { runWebhook } = await import("../../webhook/main.js");
    return runWebhook({
      config,
      host: str(values, "bind-address") || undefined,
      port: httpsPort,
      metricsPort,
      tlsCertFile: str(values, "tls-cert") ?? DEFAULTS.tlsCert,
      tlsKeyFile: str(values, "tls-key") ?? DEFAULTS.tlsKey,
      clientCaFile: str(values, "client-ca-file") || undefined,
      kubeconfig: str(values, "kubeconfig"),
      kubeApi: str(values, "kube-api"),
      watchNamespace,
      gracePeriodMs: graceMs,
      logLevel: oneOf(values, "log-level", LOG_LEVELS, verbosityLevel, this),
      secureOptions: {
        ...(minVersion !== undefined && { minVersion }),
        ...(ciphers !== undefined && { ciphers }),
      },
      composeRoleArn: values["compose-role-arn"] === true ? { accountId } : undefined,
      watchConfigMap:
        values["watch-config-map"] === true
          ? {
              namespace: str(values, "namespace") ?? DEFAULTS.namespace,
              pollMs: Math.min(CONFIG_MAP_POLL_MS, resyncMs || CONFIG_MAP_POLL_MS),
            }
          : undefined,
      debuggingHandlers: values["enable-debugging-handlers"] === true,
      ...(selfSignedTls !== undefined && { selfSignedTls }),
    });
  },
};
