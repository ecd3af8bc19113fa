/**
 * The webhook's HTTP edge: the /mutate route on the shared HTTPS runtime, and its health and
 * metrics server. Decisions come from `admitPod`; this file only moves bytes, measures and maps
 * errors to HTTP statuses (the one place that does).
 *
 * HTTP statuses of /mutate:
 *   200  an AdmissionReview answer (always allowed; with a patch when the pod is mutated)
 *   400  malformed AdmissionReview, JSON body `{"error","message"}` naming the field
 *   405  not POST;  413  body over the limit;  415  not application/json
 *   500  only if writing the answer itself failed
 * A client that hangs up before its body is complete gets nothing: there is no one to answer. It is
 * logged at info, without a stack, and counted as result "client_aborted".
 * A failure inside the mutation never denies the pod: it is admitted unchanged, with a warning.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isIrsaError } from "../core/errors.js";
import {
  admissionResponse,
  isPodCreate,
  parseAdmissionReview,
  type PodCreateRequest,
} from "../core/admission.js";
import { parseGoDuration } from "../core/go/parse.js";
import { BodyTooLarge, ClientAborted, readBody } from "../runtime/body.js";
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
import { certSummary, ReloadingTls } from "../runtime/tls.js";
import type { WebhookMetrics } from "./metrics.js";
import type { LookupVia } from "./sa-cache.js";

/** What the mutation decided for one pod. */
export interface PodDecision {
  /** JSON Patch operations; empty when nothing changes. */
  readonly patch: readonly unknown[];
  /** Why, for the log line (e.g. "service account has no role-arn annotation"). */
  readonly reason: string;
  /** Shown to the user who created the pod (kubectl prints them). */
  readonly warnings?: readonly string[];
  /** Extra fields for the log line. */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** How the service account was found, for metrics. */
  readonly lookup?: LookupVia;
}

/**
 * Decides for one pod CREATE. `budgetMs` is what is left of kube-apiserver's deadline for the call
 * (from its `?timeout=` query), when it sent one.
 */
export type AdmitPod = (req: PodCreateRequest, budgetMs?: number) => Promise<PodDecision>;

/** Result label of `irsa_webhook_admission_*` metrics. */
export type AdmissionResult =
  | "mutated"
  | "unchanged"
  | "skipped"
  | "invalid"
  | "too_large"
  | "unsupported_media_type"
  | "method_not_allowed"
  /** the client hung up before its whole body arrived; nothing was answered */
  | "client_aborted"
  | "error";

/** 3 MiB: kube-apiserver's own request limit, so any pod it accepted fits. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface WebhookServerOptions {
  /** Address to listen on; default all interfaces. */
  readonly host?: string | undefined;
  /** --port; 0 picks a free port (tests). */
  readonly port: number;
  readonly metricsHost?: string | undefined;
  /** --metrics-port; 0 picks a free port. */
  readonly metricsPort: number;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
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

/** kube-apiserver appends `?timeout=10s` (its deadline for this call) to the webhook URL. */
function budgetOf(req: IncomingMessage): number | undefined {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  if (q < 0) return undefined;
  const t = new URLSearchParams(url.slice(q + 1)).get("timeout");
  if (t === null) return undefined;
  const ms = parseGoDuration(t);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/** Label values from a fixed set, so stray requests cannot grow the metric's series. */
const KNOWN_PATHS = new Set(["/mutate", "/healthz", "/livez", "/readyz"]);
const KNOWN_VERBS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
function pathLabel(path: string): string {
  return KNOWN_PATHS.has(path) ? path : "other";
}
function verbLabel(req: IncomingMessage): string {
  return KNOWN_VERBS.has(req.method ?? "") ? (req.method ?? "") : "other";
}

function podLogFields(req: PodCreateRequest): Record<string, unknown> {
  const meta = req.object.metadata as { name?: unknown; generateName?: unknown } | undefined;
  const name = typeof meta?.name === "string" && meta.name !== "" ? meta.name : undefined;
  const generateName = typeof meta?.generateName === "string" ? meta.generateName : undefined;
  return {
    uid: req.uid,
    namespace: req.namespace,
    pod: name ?? (generateName !== undefined ? `${generateName}*` : ""),
    dryRun: req.dryRun || undefined,
  };
}

/** The /mutate route: one AdmissionReview in, one answer out. */
function mutateRoute(opts: WebhookServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { log, metrics } = opts;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  async function mutate(req: IncomingMessage, res: ServerResponse, start: bigint): Promise<AdmissionResult> {
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      send(res, 405, errorBody("METHOD_NOT_ALLOWED", `${req.method ?? ""} /mutate: use POST`));
      return "method_not_allowed";
    }
    const contentType = req.headers["content-type"] ?? "";
    if (!/^application\/json\s*(;|$)/i.test(contentType)) {
      send(
        res,
        415,
        errorBody("UNSUPPORTED_MEDIA_TYPE", `Content-Type "${contentType}": expected application/json`),
      );
      return "unsupported_media_type";
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        res.setHeader("Connection", "close");
        send(res, 413, errorBody("BODY_TOO_LARGE", `request body over the ${maxBody}-byte limit`));
        return "too_large";
      }
      if (e instanceof ClientAborted) {
        // Not our failure, and no one is left to answer: no stack, no 500.
        log.info(
          { remote: req.socket.remoteAddress, err: e.message },
          "client hung up before sending the whole AdmissionReview; nothing answered",
        );
        return "client_aborted";
      }
      throw e;
    }
    let review;
    try {
      review = parseAdmissionReview(body);
    } catch (e) {
      if (isIrsaError(e) && e.code === "ADMISSION_REVIEW_INVALID") {
        log.warn({ err: e.message, remote: req.socket.remoteAddress }, "malformed AdmissionReview");
        send(res, 400, errorBody(e.code, e.message));
        return "invalid";
      }
      throw e;
    }
    if (!isPodCreate(review)) {
      send(res, 200, JSON.stringify(admissionResponse(review, undefined)));
      return "skipped";
    }
    let decision: PodDecision;
    try {
      const budget = budgetOf(req);
      const spent = Number(process.hrtime.bigint() - start) / 1e6;
      decision = await opts.admitPod(review, budget === undefined ? undefined : budget - spent);
    } catch (e) {
      // Never deny a pod over our own failure: admit it unchanged and say why.
      log.error(
        { ...podLogFields(review), err: isIrsaError(e) ? e.message : String((e as Error).stack ?? e) },
        "pod not mutated: mutation failed",
      );
      const warning = `irsa webhook: pod not mutated: ${isIrsaError(e) ? e.message : "internal error, see the webhook logs"}`;
      send(res, 200, JSON.stringify(admissionResponse(review, undefined, [warning])));
      return "error";
    }
    if (decision.lookup !== undefined) metrics.lookups.inc({ via: decision.lookup });
    const mutated = decision.patch.length > 0;
    const fields = { ...podLogFields(review), ...decision.fields, reason: decision.reason };
    if (mutated) log.info({ ...fields, operations: decision.patch.length }, "pod mutated");
    else log.debug(fields, "pod not mutated");
    send(res, 200, JSON.stringify(admissionResponse(review, decision.patch, decision.warnings)));
    return mutated ? "mutated" : "unchanged";
  }

  return (req, res) => {
    const start = process.hrtime.bigint();
    metrics.inFlight.inc();
    res.on("close", () => {
      metrics.inFlight.dec();
    });
    const path = pathOf(req);
    mutate(req, res, start)
      .catch((e: unknown) => {
        log.error({ err: String((e as Error).stack ?? e) }, "admission request failed");
        if (!res.headersSent) send(res, 500, errorBody("INTERNAL", "internal error, see the webhook logs"));
        else res.destroy();
        return "error" as const;
      })
      .then(
        (result) => {
          const seconds = Number(process.hrtime.bigint() - start) / 1e9;
          metrics.duration.observe({ result }, seconds);
          metrics.requests.inc({ result });
          // No status went out to a client that hung up, so there is no code to count.
          if (result !== "client_aborted") {
            metrics.httpRequests.inc({ verb: verbLabel(req), path, code: res.statusCode });
          }
        },
        () => undefined,
      );
  };
}

/** Starts both servers. Rejects (IrsaError) if the TLS pair is unusable or a port is taken. */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const { log, metrics } = opts;
  let closing = false;
  const readiness: Readiness = () =>
    closing ? "shutting down" : opts.ready() ? undefined : "service account cache not synced yet";
  const tls = await ReloadingTls.load({
    certFile: opts.tlsCertFile,
    keyFile: opts.tlsKeyFile,
    log,
    ...(opts.tlsPollIntervalMs !== undefined && { pollIntervalMs: opts.tlsPollIntervalMs }),
    ...(opts.now !== undefined && { now: opts.now }),
    onReload: (result) => {
      metrics.tlsReloads.inc({ result });
      if (result === "ok") metrics.certNotAfter.set(tls.notAfter.getTime() / 1000);
    },
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
      log,
      onRequest: (req, res) => {
        const path = pathOf(req);
        if (path === "/mutate") {
          mutate(req, res);
          return;
        }
        if (!healthRoute(req, res, readiness))
          send(res, 404, errorBody("NOT_FOUND", `no handler for ${path}`));
        metrics.httpRequests.inc({ verb: verbLabel(req), path: pathLabel(path), code: res.statusCode });
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
    await https?.close(0);
    throw e;
  }
  const { port } = https;
  const metricsPort = health.port;
  log.info({ port, metricsPort, ...certSummary(tls.pair.cert) }, "webhook listening");

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
      log.info({}, "webhook stopped");
    })();
    return closed;
  };

  return { port, metricsPort, reloadTls: () => tls.reload(), close };
}
