/**
 * The webhook's I/O edge: the HTTPS admission server, the plain-HTTP health and metrics server,
 * TLS hot reload, JSON logs and graceful shutdown. Decisions come from `admitPod`; this file only
 * moves bytes, measures and maps errors to HTTP statuses (the one place that does).
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
import { readFile, watch as watchDir } from "node:fs/promises";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { basename, dirname } from "node:path";
import { createSecureContext } from "node:tls";
import { X509Certificate, createHash } from "node:crypto";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { IrsaError, isIrsaError } from "../core/errors.js";
import {
  admissionResponse,
  errorBody,
  isPodCreate,
  parseAdmissionReview,
  type PodCreateRequest,
} from "../core/admission.js";
import { parseGoDuration } from "../core/go/parse.js";
import type { GetOutcome, Log, LookupVia } from "./sa-cache.js";

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

/** Longest a connection may take to finish its TLS handshake, or a request its headers. */
const STALL_TIMEOUT_MS = 10_000;
/** Longest a request may take to arrive whole: kube-apiserver's longest webhook timeout. */
const REQUEST_TIMEOUT_MS = 30_000;

/** 3 MiB: kube-apiserver's own request limit, so any pod it accepted fits. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

/**
 * Sub-millisecond to one second: a cache hit answers in tens of microseconds, a cache miss waits
 * up to the grace period (1 s by default). Upstream's histogram started at 125 ms.
 */
export const LATENCY_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** The webhook's Prometheus metrics, on their own registry. */
export class WebhookMetrics {
  readonly registry: Registry;
  readonly duration: Histogram<"result">;
  readonly requests: Counter<"result">;
  readonly httpRequests: Counter<"verb" | "path" | "code">;
  readonly lookups: Counter<"via">;
  readonly gets: Counter<"outcome">;
  readonly tlsReloads: Counter<"result">;
  readonly synced: Gauge;
  readonly inFlight: Gauge;

  constructor(registry = new Registry(), defaultMetrics = true) {
    this.registry = registry;
    const registers = [registry];
    this.duration = new Histogram({
      name: "irsa_webhook_admission_duration_seconds",
      help: "Time to answer one AdmissionReview on /mutate, by result.",
      labelNames: ["result"],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.requests = new Counter({
      name: "irsa_webhook_admission_requests_total",
      help: "AdmissionReviews answered on /mutate, by result.",
      labelNames: ["result"],
      registers,
    });
    this.httpRequests = new Counter({
      name: "http_request_count",
      help: "Requests to the admission server by verb, path and status code (upstream's name).",
      labelNames: ["verb", "path", "code"],
      registers,
    });
    this.lookups = new Counter({
      name: "irsa_webhook_service_account_lookups_total",
      help: "Service account lookups for pod CREATEs, by how they were answered (cache, watch, get, miss, no-wait, out-of-scope).",
      labelNames: ["via"],
      registers,
    });
    this.gets = new Counter({
      name: "irsa_webhook_service_account_gets_total",
      help: "Direct GETs of service accounts missing from the cache, by outcome.",
      labelNames: ["outcome"],
      registers,
    });
    this.tlsReloads = new Counter({
      name: "irsa_webhook_tls_reloads_total",
      help: "Serving certificate reloads from disk, by result (ok, error).",
      labelNames: ["result"],
      registers,
    });
    this.synced = new Gauge({
      name: "irsa_webhook_service_account_cache_synced",
      help: "1 once the service account cache has completed its first list.",
      registers,
    });
    this.inFlight = new Gauge({
      name: "irsa_webhook_admission_in_flight",
      help: "AdmissionReviews being answered.",
      registers,
    });
    if (defaultMetrics) collectDefaultMetrics({ register: registry });
  }

  readonly onGet = (outcome: GetOutcome): void => {
    this.gets.inc({ outcome });
  };

  readonly onSynced = (synced: boolean): void => {
    this.synced.set(synced ? 1 : 0);
  };
}

export interface WebhookServerOptions {
  /** Address to listen on; default all interfaces. */
  readonly host?: string;
  /** --port; 0 picks a free port (tests). */
  readonly port: number;
  readonly metricsHost?: string;
  /** --metrics-port; 0 picks a free port. */
  readonly metricsPort: number;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
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
}

export interface WebhookServer {
  readonly port: number;
  readonly metricsPort: number;
  /** Re-reads the TLS pair now; true if a new pair is being served. */
  reloadTls(): Promise<boolean>;
  /** Stops accepting, finishes in-flight reviews, closes both servers. */
  close(): Promise<void>;
}

interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

const TLS_OPTIONS = { minVersion: "TLSv1.2" } as const;

async function readTlsPair(certFile: string, keyFile: string): Promise<TlsPair> {
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (e) {
      throw new IrsaError(
        "FILE_UNREADABLE",
        `cannot read TLS ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        `check --tls-${what === "certificate" ? "cert" : "key"}`,
        { cause: e },
      );
    }
  };
  const cert = await read(certFile, "certificate");
  const key = await read(keyFile, "key");
  try {
    createSecureContext({ cert, key, ...TLS_OPTIONS });
  } catch (e) {
    throw new IrsaError(
      "TLS_INVALID",
      `TLS certificate ${certFile} and key ${keyFile} do not form a usable pair: ${(e as Error).message}`,
      "give a PEM certificate (chain) and the PEM private key that matches it",
      { cause: e },
    );
  }
  return { cert, key };
}

function certSummary(cert: Buffer): Record<string, string> {
  try {
    const x = new X509Certificate(cert);
    return { subject: x.subject.replace(/\n/g, ", "), notAfter: x.validTo, sha256: x.fingerprint256 };
  } catch {
    return {};
  }
}

class TooLarge extends Error {}

/** The connection ended before the whole body arrived: the client hung up (or was cut off). */
class ClientAborted extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new TooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(new TooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (done) return;
      done = true;
      // ECONNRESET "aborted": the connection closed mid-body.
      reject(e.code === "ECONNRESET" || req.socket.destroyed ? new ClientAborted(e.message) : e);
    });
    req.on("close", () => {
      if (done) return;
      done = true;
      reject(new ClientAborted("connection closed before the body was complete"));
    });
  });
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

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
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

/**
 * Calls `onChange` (debounced) when any of `files` may have changed: watches their directories
 * (a Kubernetes Secret or ConfigMap volume swaps a `..data` symlink, which a watch on the file
 * itself stops seeing after the first swap) and polls every `pollMs` as a backstop.
 */
export function watchFiles(
  files: readonly string[],
  onChange: () => unknown,
  log: Log,
  pollMs = 10_000,
): { close(): void } {
  const abort = new AbortController();
  let debounce: NodeJS.Timeout | undefined;
  const fire = (): void => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void onChange(), 100);
  };
  const dirs = new Set(files.map((f) => dirname(f)));
  const names = new Set(files.map((f) => basename(f)));
  for (const dir of dirs) {
    void (async () => {
      try {
        for await (const event of watchDir(dir, { signal: abort.signal })) {
          // Any name in the directory: Secret volumes change `..data`, not the file names.
          log.debug(
            { dir, file: event.filename, watched: names.has(event.filename ?? "") },
            "watched file changed",
          );
          fire();
        }
      } catch (e) {
        if ((e as Error).name !== "AbortError") {
          log.warn({ dir, err: (e as Error).message }, "cannot watch directory; polling only");
        }
      }
    })();
  }
  const poll = setInterval(() => void onChange(), pollMs);
  poll.unref();
  return {
    close() {
      abort.abort();
      clearInterval(poll);
      clearTimeout(debounce);
    },
  };
}

/**
 * --watch-container-credentials-config: the listed accounts, re-read when the file changes. The
 * first read must succeed; later a bad file is logged and the previous list kept.
 */
export async function watchContainerCredentials(
  file: string,
  parse: (text: string, source: string) => ReadonlySet<string>,
  log: Log,
  pollMs?: number,
): Promise<{ current(): ReadonlySet<string>; close(): void }> {
  const read = async (): Promise<ReadonlySet<string>> => {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new IrsaError(
        "FILE_UNREADABLE",
        `cannot read container credentials config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        "check --watch-container-credentials-config",
        { cause: e },
      );
    }
    return parse(text, file);
  };
  let current = await read();
  let lastError = "";
  log.info({ file, identities: current.size }, "container credentials config loaded");
  const reload = async (): Promise<void> => {
    try {
      const next = await read();
      const text = [...next].sort().join("\n");
      if (text === [...current].sort().join("\n")) return;
      current = next;
      lastError = "";
      log.info({ file, identities: next.size }, "container credentials config reloaded");
    } catch (e) {
      const msg = isIrsaError(e) ? e.message : String(e);
      if (msg !== lastError) {
        lastError = msg;
        log.error({ file, err: msg }, "container credentials config rejected; keeping the previous one");
      }
    }
  };
  const w = watchFiles([file], reload, log, pollMs);
  return {
    current: () => current,
    close: () => {
      w.close();
    },
  };
}

/** Starts both servers. Rejects (IrsaError) if the TLS pair is unusable or a port is taken. */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const { log, metrics } = opts;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let current = await readTlsPair(opts.tlsCertFile, opts.tlsKeyFile);
  let lastFailure = "";
  let closing = false;
  let inFlight = 0;
  let onIdle: (() => void) | undefined;

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    contentType = "application/json",
  ): void => {
    const headers: Record<string, string | number> = {
      "Content-Type": contentType,
      "Content-Length": Buffer.byteLength(body),
    };
    if (closing) headers.Connection = "close";
    res.writeHead(status, headers);
    res.end(body);
  };

  const isReady = (): boolean => !closing && opts.ready();

  const health = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = pathOf(req);
    if (path === "/healthz" || path === "/livez") {
      send(res, 200, "ok\n", "text/plain; charset=utf-8");
      return true;
    }
    if (path === "/readyz") {
      if (isReady()) send(res, 200, "ok\n", "text/plain; charset=utf-8");
      else {
        const why = closing ? "shutting down" : "service account cache not synced yet";
        send(res, 503, `not ready: ${why}\n`, "text/plain; charset=utf-8");
      }
      return true;
    }
    return false;
  };

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
      if (e instanceof TooLarge) {
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

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = pathOf(req);
    if (path !== "/mutate") {
      if (!health(req, res)) send(res, 404, errorBody("NOT_FOUND", `no handler for ${path}`));
      metrics.httpRequests.inc({ verb: verbLabel(req), path: pathLabel(path), code: res.statusCode });
      return;
    }
    const start = process.hrtime.bigint();
    inFlight++;
    metrics.inFlight.inc();
    res.on("close", () => {
      inFlight--;
      metrics.inFlight.dec();
      if (inFlight === 0) onIdle?.();
    });
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

  const https: HttpsServer = createHttpsServer(
    {
      ...current,
      ...TLS_OPTIONS,
      // Stalled connections (slowloris) each hold a descriptor: kube-apiserver completes the
      // handshake and sends each request at once, and gives up on a webhook after at most 30 s.
      handshakeTimeout: STALL_TIMEOUT_MS,
      // How often the header and request timeouts are enforced (Node's default: every 30 s).
      connectionsCheckingInterval: 1000,
    },
    onRequest,
  );
  // kube-apiserver keeps connections idle for up to 90 s; closing them first races with a new
  // request on the same connection (which then fails), so let the client close idle connections.
  // Idle keep-alive connections are not subject to the two timeouts below (they run from a
  // request's first byte), so these may be far shorter than keepAliveTimeout.
  https.keepAliveTimeout = 120_000;
  https.headersTimeout = STALL_TIMEOUT_MS;
  https.requestTimeout = REQUEST_TIMEOUT_MS;
  https.on("tlsClientError", (e) => {
    log.debug({ err: e.message }, "TLS handshake failed");
  });

  const metricsServer: Server = createHttpServer((req, res) => {
    if (pathOf(req) === "/metrics" && (req.method === "GET" || req.method === "HEAD")) {
      opts.metrics.registry.metrics().then(
        (text) => {
          send(res, 200, text, opts.metrics.registry.contentType);
        },
        (e: unknown) => {
          send(res, 500, errorBody("INTERNAL", String(e)));
        },
      );
      return;
    }
    if (!health(req, res)) send(res, 404, errorBody("NOT_FOUND", `no handler for ${pathOf(req)}`));
  });

  const listen = (server: Server | HttpsServer, port: number, host: string | undefined, what: string) =>
    new Promise<number>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        reject(
          new IrsaError(
            "LISTEN_FAILED",
            `cannot listen for ${what} on ${host ?? "*"}:${port}: ${e.code ?? e.message}`,
            e.code === "EACCES"
              ? "ports below 1024 need root or CAP_NET_BIND_SERVICE; choose another port"
              : "choose another port or stop the process using it",
            { cause: e },
          ),
        );
      };
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        resolve((server.address() as AddressInfo).port);
      });
    });

  let port: number;
  let metricsPort: number;
  try {
    port = await listen(https, opts.port, opts.host, "admission (HTTPS)");
    metricsPort = await listen(metricsServer, opts.metricsPort, opts.metricsHost ?? opts.host, "metrics");
  } catch (e) {
    https.close();
    metricsServer.close();
    throw e;
  }
  log.info({ port, metricsPort, ...certSummary(current.cert) }, "webhook listening");

  // TLS hot reload: watch the directories (Secret volumes swap a symlink, which a watch on the file
  // itself would miss after the first swap) and poll as a backstop.
  const digest = (p: TlsPair): string =>
    createHash("sha256").update(p.cert).update("\0").update(p.key).digest("hex");
  let currentDigest = digest(current);
  let reloading: Promise<boolean> | undefined;
  const reloadOnce = async (): Promise<boolean> => {
    let next: TlsPair;
    try {
      next = await readTlsPair(opts.tlsCertFile, opts.tlsKeyFile);
    } catch (e) {
      const msg = isIrsaError(e) ? e.message : String(e);
      if (msg !== lastFailure) {
        lastFailure = msg;
        metrics.tlsReloads.inc({ result: "error" });
        log.error({ err: msg }, "new TLS certificate or key rejected; still serving the previous pair");
      }
      return false;
    }
    const d = digest(next);
    if (d === currentDigest) return false;
    https.setSecureContext({ ...next, ...TLS_OPTIONS });
    current = next;
    currentDigest = d;
    lastFailure = "";
    metrics.tlsReloads.inc({ result: "ok" });
    log.info(certSummary(next.cert), "TLS certificate reloaded");
    return true;
  };
  const reloadTls = (): Promise<boolean> => {
    reloading ??= reloadOnce().finally(() => {
      reloading = undefined;
    });
    return reloading;
  };

  const tlsWatch = watchFiles([opts.tlsCertFile, opts.tlsKeyFile], reloadTls, log, opts.tlsPollIntervalMs);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      log.info({ inFlight }, "shutting down: finishing in-flight reviews");
      tlsWatch.close();
      const httpsClosed = new Promise<void>((resolve) =>
        https.close(() => {
          resolve();
        }),
      );
      https.closeIdleConnections();
      const drained = new Promise<void>((resolve) => {
        if (inFlight === 0) resolve();
        else
          onIdle = () => {
            resolve();
          };
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => {
          resolve("timeout");
        }, opts.shutdownTimeoutMs ?? 25_000);
      });
      if ((await Promise.race([drained, timeout])) === "timeout") {
        log.warn({ inFlight }, "shutdown timeout: closing connections with reviews in flight");
      }
      https.closeAllConnections();
      await Promise.race([httpsClosed, timeout]);
      clearTimeout(timer);
      await new Promise<void>((resolve) => {
        metricsServer.close(() => {
          resolve();
        });
        metricsServer.closeAllConnections();
      });
      log.info({}, "webhook stopped");
    })();
    return closed;
  };

  return { port, metricsPort, reloadTls, close };
}
