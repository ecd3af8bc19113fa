/**
 * The /mutate route: one AdmissionReview in, one answer out. Decisions come from `admitPod`; this
 * file only moves bytes, measures and maps errors to HTTP statuses (the one place that does).
 *
 * HTTP statuses of /mutate:
 *   200  an AdmissionReview answer (always allowed; with a patch when the pod is mutated)
 *   400  malformed AdmissionReview, JSON body `{"error","message"}` naming the field
 *   405  not POST;  413  body over the limit;  415  not application/json
 *   500  only if writing the answer itself failed
 *   503  over the bytes-in-flight budget for longer than the caller's deadline (Retry-After: 1)
 * A client that hangs up before its body is complete gets nothing: there is no one to answer. It is
 * logged at info, without a stack, and counted as result "client_aborted"; one whose body does not
 * arrive within the server's request timeout gets Node's 408 and is counted as "timeout".
 * A failure inside the mutation never denies the pod: it is admitted unchanged, with a warning. A
 * malformed pod is the client's problem: logged at warn, rate-limited (anyone can send thousands).
 *
 * Memory: the bodies being read, parsed and answered at once are bounded by a byte budget
 * (`maxBytesInFlight`); a request reserves its Content-Length before its body is read and waits, up
 * to its deadline, for room. The answer's size is bounded by admit.ts (MAX_PATCH_OPERATIONS).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isIrsaError } from "../core/errors.js";
import {
  admissionResponseText,
  isPodCreate,
  parseAdmissionReview,
  type PodCreateRequest,
} from "../core/admission.js";
import { parseGoDuration } from "../core/go/parse.js";
import { BodyTooLarge, ClientAborted, readBody, RequestTimedOut } from "../runtime/body.js";
import { ByteBudget } from "../runtime/byte-budget.js";
import { errorBody, send } from "../runtime/http.js";
import type { Log } from "../runtime/log.js";
import { rateLimitedLog } from "../runtime/rate-limited-log.js";
import { DEADLINE_MARGIN_MS } from "./admit.js";
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
  /** Not mutated because the patch would be over the size bound. */
  readonly overLimit?: boolean;
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
  /** a pod CREATE whose pod is malformed: admitted unchanged, with a warning */
  | "invalid_pod"
  /** the patch would be over the size bound: admitted unchanged, with a warning */
  | "over_limit"
  /** no room in the bytes-in-flight budget before the caller's deadline: 503 */
  | "overloaded"
  | "too_large"
  | "unsupported_media_type"
  | "method_not_allowed"
  /** the client hung up before its whole body arrived; nothing was answered */
  | "client_aborted"
  /** the body did not arrive within the server's request timeout: Node answered 408 */
  | "timeout"
  | "error";

/** 3 MiB: kube-apiserver's own request limit, so any pod it accepted fits. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

/**
 * 8 MiB of request bodies processed at once: parsing a pod packed with tiny objects takes ten or
 * more times its bytes, and the manifest's limit is 512 MiB. Typical 15 KB reviews: 500 at once.
 */
export const DEFAULT_MAX_BYTES_IN_FLIGHT = 8 * 1024 * 1024;

/** How long a review waits for room in the budget when kube-apiserver sent no deadline. */
const DEFAULT_BUDGET_WAIT_MS = 10_000;

export interface MutateRouteOptions {
  readonly admitPod: AdmitPod;
  readonly log: Log;
  readonly metrics: WebhookMetrics;
  readonly maxBodyBytes?: number | undefined;
  /** Request bytes read, parsed and answered at once; default DEFAULT_MAX_BYTES_IN_FLIGHT. */
  readonly maxBytesInFlight?: number | undefined;
  /** How often the info-level summary of the reviews answered is logged; default 60 s. */
  readonly summaryIntervalMs?: number | undefined;
}

export const DEFAULT_SUMMARY_INTERVAL_MS = 60_000;

/**
 * Counts of the reviews answered, by result, logged at info every interval in which there were
 * some (one line a minute instead of one per pod; each pod's line is at debug).
 */
class Summary {
  private counts = new Map<AdmissionResult, number>();
  private since = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly log: Log,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => {
      this.flush();
    }, intervalMs);
    this.timer.unref();
  }

  count(result: AdmissionResult): void {
    this.counts.set(result, (this.counts.get(result) ?? 0) + 1);
  }

  flush(): void {
    const now = Date.now();
    if (this.counts.size > 0) {
      let total = 0;
      for (const n of this.counts.values()) total += n;
      const byResult = Object.fromEntries(this.counts);
      this.log.info(
        { seconds: Math.round((now - this.since) / 1000), total, ...byResult },
        "admission reviews answered",
      );
      this.counts = new Map();
    }
    this.since = now;
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

export interface MutateRoute {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Stops the summary timer and logs what it has not yet. */
  close(): void;
}

/** kube-apiserver appends `?timeout=10s` (its deadline for this call) to the webhook URL. */
function budgetOf(req: IncomingMessage): number | undefined {
  const url = req.url ?? "/";
  // The same URL on every call from one API server: parsed once.
  if (url === lastUrl) return lastBudget;
  const q = url.indexOf("?");
  let budget: number | undefined;
  if (q >= 0) {
    const t = new URLSearchParams(url.slice(q + 1)).get("timeout");
    const ms = t === null ? undefined : parseGoDuration(t);
    budget = ms !== undefined && ms > 0 ? ms : undefined;
  }
  lastUrl = url;
  lastBudget = budget;
  return budget;
}
let lastUrl: string | undefined;
let lastBudget: number | undefined;

/** Label values from a fixed set, so stray requests cannot grow the metric's series. */
const KNOWN_PATHS = new Set(["/mutate", "/healthz", "/livez", "/readyz"]);
const KNOWN_VERBS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
export function pathLabel(path: string): string {
  return KNOWN_PATHS.has(path) ? path : "other";
}
export function verbLabel(req: IncomingMessage): string {
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
export function mutateRoute(opts: MutateRouteOptions): MutateRoute {
  const { log, metrics } = opts;
  const debug = log.isLevelEnabled?.("debug") ?? true;
  const summary = new Summary(log, opts.summaryIntervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const budget = new ByteBudget(opts.maxBytesInFlight ?? DEFAULT_MAX_BYTES_IN_FLIGHT);
  // What a client controls (its own malformed input) is logged, but not thousands of times.
  const clientLog = rateLimitedLog(log);

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
    const declared = Number(req.headers["content-length"]);
    const reserve = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, maxBody) : maxBody;
    const budgetMs = budgetOf(req);
    // Room at once is the common case: no wait, so no signal to build for one.
    let release = budget.tryAcquire(reserve);
    let gone: AbortController | undefined;
    if (release === undefined) {
      const g = new AbortController();
      gone = g;
      res.once("close", () => {
        g.abort();
      });
      const waitMs = (budgetMs ?? DEFAULT_BUDGET_WAIT_MS) - Number(process.hrtime.bigint() - start) / 1e6;
      release = await budget.acquire(reserve, waitMs - DEADLINE_MARGIN_MS, g.signal);
    }
    if (release === undefined) {
      if (gone?.signal.aborted === true) return "client_aborted";
      clientLog.warn(
        { remote: req.socket.remoteAddress, bytes: reserve, ...budget.stats() },
        "too many bytes of AdmissionReviews in flight; answered 503",
      );
      res.setHeader("Retry-After", "1");
      send(res, 503, errorBody("OVERLOADED", "too many bytes of reviews in flight; retry"));
      return "overloaded";
    }
    res.once("close", release);
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        res.setHeader("Connection", "close");
        send(res, 413, errorBody("BODY_TOO_LARGE", `request body over the ${maxBody}-byte limit`));
        return "too_large";
      }
      if (e instanceof RequestTimedOut) {
        log.info(
          { remote: req.socket.remoteAddress, err: e.message },
          "AdmissionReview body not received within the request timeout; answered 408",
        );
        return "timeout";
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
        clientLog.warn({ err: e.message, remote: req.socket.remoteAddress }, "malformed AdmissionReview");
        send(res, 400, errorBody(e.code, e.message));
        return "invalid";
      }
      throw e;
    }
    if (!isPodCreate(review)) {
      send(res, 200, admissionResponseText(review, undefined));
      return "skipped";
    }
    let decision: PodDecision;
    try {
      const spent = Number(process.hrtime.bigint() - start) / 1e6;
      decision = await opts.admitPod(review, budgetMs === undefined ? undefined : budgetMs - spent);
    } catch (e) {
      if (isIrsaError(e) && e.code === "POD_INVALID") {
        // The client's input, not our failure: warn (rate-limited), admit unchanged, say why.
        clientLog.warn({ ...podLogFields(review), err: e.message }, "pod not mutated: malformed pod");
        const warning = `irsa webhook: pod not mutated: ${e.message}`;
        send(res, 200, admissionResponseText(review, undefined, [warning]));
        return "invalid_pod";
      }
      // Never deny a pod over our own failure: admit it unchanged and say why.
      log.error(
        { ...podLogFields(review), err: isIrsaError(e) ? e.message : String((e as Error).stack ?? e) },
        "pod not mutated: mutation failed",
      );
      const warning = `irsa webhook: pod not mutated: ${isIrsaError(e) ? e.message : "internal error, see the webhook logs"}`;
      send(res, 200, admissionResponseText(review, undefined, [warning]));
      return "error";
    }
    if (decision.lookup !== undefined) metrics.lookup(decision.lookup);
    const mutated = decision.patch.length > 0;
    // One line per pod only at debug: at info, the periodic summary counts them.
    if (debug) {
      const fields = { ...podLogFields(review), ...decision.fields, reason: decision.reason };
      if (mutated) log.debug({ ...fields, operations: decision.patch.length }, "pod mutated");
      else log.debug(fields, "pod not mutated");
    }
    send(res, 200, admissionResponseText(review, decision.patch, decision.warnings));
    if (decision.overLimit === true) return "over_limit";
    return mutated ? "mutated" : "unchanged";
  }

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const start = process.hrtime.bigint();
    metrics.inFlight.inc();
    res.on("close", () => {
      metrics.inFlight.dec();
    });
    const path = "/mutate";
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
          metrics.admission(result, seconds);
          summary.count(result);
          // No status went out to a client that hung up, so there is no code to count.
          if (result === "timeout") metrics.httpRequest(verbLabel(req), path, 408);
          else if (result !== "client_aborted") metrics.httpRequest(verbLabel(req), path, res.statusCode);
        },
        () => undefined,
      );
  };
  return Object.assign(route, {
    close: () => {
      summary.close();
    },
  });
}
