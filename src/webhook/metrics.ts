/** The webhook's Prometheus metrics, on their own registry. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { GetOutcome, GetSkipped } from "./sa-cache.js";

/**
 * Sub-millisecond to one second: a cache hit answers in tens of microseconds, a cache miss waits
 * up to the grace period (1 s by default). Upstream's histogram started at 125 ms.
 */
export const LATENCY_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

export class WebhookMetrics {
  readonly registry: Registry;
  readonly duration: Histogram<"result">;
  readonly requests: Counter<"result">;
  readonly httpRequests: Counter<"verb" | "path" | "code">;
  readonly lookups: Counter<"via">;
  readonly gets: Counter<"outcome">;
  readonly getsSkipped: Counter<"reason">;
  readonly tlsReloads: Counter<"result">;
  readonly synced: Gauge;
  readonly certNotAfter: Gauge;
  readonly disconnected: Gauge;
  private disconnectedFor: () => number = () => 0;
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
    this.getsSkipped = new Counter({
      name: "irsa_webhook_service_account_gets_skipped_total",
      help: "Lookups of service accounts missing from the cache that made no direct GET (yet): known_missing (the API server said so moments ago), rate_limited (queued for the GET rate).",
      labelNames: ["reason"],
      registers,
    });
    this.tlsReloads = new Counter({
      name: "irsa_webhook_tls_reloads_total",
      help: "Serving certificate reloads from disk, by result (ok, error).",
      labelNames: ["result"],
      registers,
    });
    this.certNotAfter = new Gauge({
      name: "irsa_webhook_tls_certificate_not_after_seconds",
      help: "When the serving certificate expires, in seconds since the Unix epoch (alert well before).",
      registers,
    });
    const disconnectedSeconds = (): number => this.disconnectedFor() / 1000;
    this.disconnected = new Gauge({
      name: "irsa_webhook_service_account_cache_disconnected_seconds",
      help: "How long the API server has not answered the ServiceAccount list/watch (0 while it does); the cache may be stale meanwhile.",
      registers,
      collect() {
        this.set(disconnectedSeconds());
      },
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

  private readonly admissionChildren = new Map<string, { observe(s: number): void; inc(): void }>();
  private readonly httpChildren = new Map<string, { inc(): void }>();
  private readonly lookupChildren = new Map<string, { inc(): void }>();

  /**
   * One answered review: its duration and count under `result`. The labelled children are looked
   * up once per label value and kept (prom-client otherwise hashes the labels on every call).
   */
  admission(result: string, seconds: number): void {
    let c = this.admissionChildren.get(result);
    if (c === undefined) {
      const duration = this.duration.labels({ result });
      const requests = this.requests.labels({ result });
      c = {
        observe: (s) => {
          duration.observe(s);
        },
        inc: () => {
          requests.inc();
        },
      };
      this.admissionChildren.set(result, c);
    }
    c.observe(seconds);
    c.inc();
  }

  /** One HTTP answer, by verb, path and status (bounded label sets, see mutate-route.ts). */
  httpRequest(verb: string, path: string, code: number): void {
    const key = `${verb} ${path} ${code}`;
    let c = this.httpChildren.get(key);
    if (c === undefined) {
      c = this.httpRequests.labels({ verb, path, code });
      this.httpChildren.set(key, c);
    }
    c.inc();
  }

  /** One ServiceAccount lookup, by how it was answered. */
  lookup(via: string): void {
    let c = this.lookupChildren.get(via);
    if (c === undefined) {
      c = this.lookups.labels({ via });
      this.lookupChildren.set(via, c);
    }
    c.inc();
  }

  readonly onGet = (outcome: GetOutcome): void => {
    this.gets.inc({ outcome });
  };

  readonly onGetSkipped = (reason: GetSkipped): void => {
    this.getsSkipped.inc({ reason });
  };

  /** `ms` is read at every scrape. */
  trackDisconnected(ms: () => number): void {
    this.disconnectedFor = ms;
  }

  readonly onSynced = (synced: boolean): void => {
    this.synced.set(synced ? 1 : 0);
  };
}
