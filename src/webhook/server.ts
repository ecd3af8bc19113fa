/**
 * The webhook's HTTP edge: the /mutate route (mutate-route.ts) on the shared HTTPS runtime, and its
 * health and metrics server.
 */
import {
  errorBody,
  healthRoute,
  pathOf,
  send,
  startHealthServer,
  startHttpsServer,
  type Readiness,
} from "../runtime/http.js";
import type { SecureVersion } from "node:tls";
import type { Log } from "../runtime/log.js";
import { certSummary, ReloadingTls, type MemoryTlsOptions } from "../runtime/tls.js";
import type { WebhookMetrics } from "./metrics.js";
import { mutateRoute, pathLabel, verbLabel, type AdmitPod } from "./mutate-route.js";

export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_BYTES_IN_FLIGHT,
  type AdmissionResult,
  type AdmitPod,
  type PodDecision,
} from "./mutate-route.js";
export interface WebhookServerOptions {
  /** Address to listen on; default all interfaces. */
  readonly host?: string | undefined;
  /** --port; 0 picks a free port (tests). */
  readonly port: number;
  readonly metricsHost?: string | undefined;
  /** --metrics-port; 0 picks a free port. */
  readonly metricsPort: number;
  /** The serving pair's files (--tls-cert, --tls-key), unless `tls` is given. */
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  /** The serving pair from elsewhere (--self-signed-tls), given the hooks that count its swaps. */
  readonly tls?: (hooks: MemoryTlsOptions) => Promise<ReloadingTls>;
  /** --tls-min-version and --tls-cipher-suites, as Node's TLS options. */
  readonly secureOptions?: { readonly minVersion?: SecureVersion; readonly ciphers?: string };
  /** Further GET routes on the metrics port (--enable-debugging-handlers). */
  readonly metricsRoutes?: Readonly<Record<string, () => string>>;
  /** Re-read the TLS files this often even without a file event (default 10 s). */
  readonly tlsPollIntervalMs?: number;
  readonly admitPod: AdmitPod;
  /** Readiness beyond our own: true once the service account cache synced. */
  readonly ready: () => boolean;
  readonly log: Log;
  readonly metrics: WebhookMetrics;
  readonly maxBodyBytes?: number;
  /** Request bytes read, parsed and answered at once; default DEFAULT_MAX_BYTES_IN_FLIGHT. */
  readonly maxBytesInFlight?: number;
  /** The server's timeout for a whole request to arrive; default the runtime's (30 s). */
  readonly requestTimeoutMs?: number;
  /** PEM CA file: require a client certificate it issued (--client-ca-file); re-read on change. */
  readonly clientCaFile?: string | undefined;
  /** How long shutdown waits for in-flight reviews before cutting connections (default 25 s). */
  readonly shutdownTimeoutMs?: number;
  /** The clock certificate validity is checked against; default the system clock. */
  readonly now?: () => Date;
}

export interface WebhookServer {
  readonly port: number;
  readonly metricsPort: number;
  /** Re-reads the TLS pair now; true if a new pair is being served. */
  reloadTls(): Promise<boolean>;
  /** Stops accepting, finishes in-flight reviews, closes both servers. */
  close(): Promise<void>;
}

/** Starts both servers. Rejects (IrsaError) if the TLS pair is unusable or a port is taken. */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const { log, metrics } = opts;
  let closing = false;
  const readiness: Readiness = () =>
    closing ? "shutting down" : opts.ready() ? undefined : "service account cache not synced yet";
  const hooks: MemoryTlsOptions = {
    log,
    ...(opts.now !== undefined && { now: opts.now }),
    onReload: (result) => {
      metrics.tlsReloads.inc({ result });
      if (result === "ok") metrics.certNotAfter.set(tls.notAfter.getTime() / 1000);
    },
  };
  const tls =
    opts.tls !== undefined
      ? await opts.tls(hooks)
      : await ReloadingTls.load({
          ...hooks,
          certFile: opts.tlsCertFile ?? "",
          keyFile: opts.tlsKeyFile ?? "",
          caFile: opts.clientCaFile,
          ...(opts.tlsPollIntervalMs !== undefined && { pollIntervalMs: opts.tlsPollIntervalMs }),
        });
  metrics.certNotAfter.set(tls.notAfter.getTime() / 1000);
  const mutate = mutateRoute(opts);
  let https;
  let health;
  try {
    https = await startHttpsServer({
      host: opts.host,
      port: opts.port,
      what: "admission (HTTPS)",
      tls,
      secureOptions: opts.secureOptions,
      requestTimeoutMs: opts.requestTimeoutMs,
      log,
      onRequest: (req, res) => {
        const path = pathOf(req);
        if (path === "/mutate") {
          mutate(req, res);
          return;
        }
        if (!healthRoute(req, res, readiness))
          send(res, 404, errorBody("NOT_FOUND", `no handler for ${path}`));
        metrics.httpRequest(verbLabel(req), pathLabel(path), res.statusCode);
      },
    });
    health = await startHealthServer({
      host: opts.metricsHost ?? opts.host,
      port: opts.metricsPort,
      readiness,
      registry: metrics.registry,
      routes: opts.metricsRoutes,
    });
  } catch (e) {
    tls.close();
    mutate.close();
    await https?.close(0);
    throw e;
  }
  const { port } = https;
  const metricsPort = health.port;
  const clientCertificate = opts.clientCaFile === undefined ? "not required" : "required";
  log.info({ port, metricsPort, clientCertificate, ...certSummary(tls.pair.cert) }, "webhook listening");

  const server = https;
  const healthServer = health;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      log.info({ inFlight: server.inFlight() }, "shutting down: finishing in-flight reviews");
      tls.close();
      if (!(await server.close(opts.shutdownTimeoutMs ?? 25_000))) {
        log.warn(
          { inFlight: server.inFlight() },
          "shutdown timeout: closed connections with reviews in flight",
        );
      }
      await healthServer.close();
      mutate.close();
      log.info({}, "webhook stopped");
    })();
    return closed;
  };

  return { port, metricsPort, reloadTls: () => tls.reload(), close };
}
