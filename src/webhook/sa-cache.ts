/**
 * The ServiceAccount cache behind the admission handler.
 *
 * A reflector (reflector.ts: list, then watch from the list's resourceVersion; relist when the server says the
 * version is gone; reconnect with capped backoff) keeps, per namespace/name, only the few
 * annotations the mutation reads. Every account is recorded, annotated or not, so "exists without
 * a role" (answer at once) differs from "not seen yet" (worth waiting for).
 *
 * What upstream gets wrong and this fixes:
 * - readiness: `synced()` turns true only after the first complete list, so /readyz can gate traffic;
 * - a pod created together with its ServiceAccount: on a miss, the handler waits up to a grace
 *   period while one deduplicated GET per account (with a timeout) asks the API server directly,
 *   and the watch may deliver the account meanwhile; whichever comes first answers every waiter;
 * - no stuck entries: a pending entry lives only while it has waiters or a GET in flight, and each
 *   waiter has its own timer, so a failed or hung lookup cannot leave anything behind.
 * - no amplification: direct GETs are rate-limited and a 404 is remembered a while (get-gate.ts),
 *   so reviews naming accounts that do not exist cannot turn into as many API server requests.
 * - no silent stall: a watch that delivers nothing (no event, no bookmark) past its server-side
 *   timeout plus a margin is a dead connection the client library would wait on forever; it is
 *   aborted and resumed (see `watchIdleMarginMs`).
 *
 * The Kubernetes I/O sits behind `ServiceAccountSource`; `kubeServiceAccountSource` in
 * src/adapters/kubernetes/ is the real one (@kubernetes/client-node), tests use an in-memory fake.
 */
import { setMaxListeners } from "node:events";
import type {
  ServiceAccountEvent,
  ServiceAccountList,
  ServiceAccountRecord,
  ServiceAccountSource,
} from "../adapters/kubernetes/service-accounts.js";
import { GetGate, type GetGateOptions, type GetSkipped } from "./get-gate.js";
import { runReflector, type ReflectorTiming, type ServiceAccountChange } from "./reflector.js";
import { ANNOTATIONS } from "../core/mutate/config.js";
import { linkedSignal } from "../runtime/linked-signal.js";
import type { Log } from "../runtime/log.js";

export type {
  GetSkipped,
  Log,
  ServiceAccountEvent,
  ServiceAccountList,
  ServiceAccountRecord,
  ServiceAccountSource,
};

export type Annotations = Readonly<Record<string, string>>;

/** How a lookup was answered. */
export type LookupVia =
  /** in the cache already */
  | "cache"
  /** arrived through the watch (or a relist) while waiting */
  | "watch"
  /** answered by the direct GET while waiting */
  | "get"
  /** not found within the grace period */
  | "miss"
  /** grace period 0: not in the cache, no wait */
  | "no-wait"
  /** the namespace is outside --watch-namespace */
  | "out-of-scope";

export interface LookupResult {
  /** The kept annotations; undefined when the account was not found. */
  readonly annotations: Annotations | undefined;
  readonly via: LookupVia;
}

export type GetOutcome = "found" | "not_found" | "error";

export interface ServiceAccountCacheOptions extends ReflectorTiming, GetGateOptions {
  /** Full annotation keys to keep, e.g. "eks.amazonaws.com/role-arn". Others are dropped on arrival. */
  readonly annotationKeys: readonly string[];
  /** Restrict to this namespace (the source must be scoped the same way); undefined: all. */
  readonly namespace?: string | undefined;
  /** Timeout of one direct GET; it never outlives the longest waiter that asked for it. */
  readonly getTimeoutMs: number;
  readonly log: Log;
  /** Called once per direct GET, for metrics. */
  readonly onGet?: (outcome: GetOutcome) => void;
  /** Called when the synced state changes, for metrics. */
  readonly onSynced?: (synced: boolean) => void;
  /** The clock for `disconnectedForMs`; default Date.now. */
  readonly now?: () => number;
}

const EMPTY: Annotations = Object.freeze({});

interface Pending {
  readonly waiters: Set<(annotations: Annotations, via: LookupVia) => void>;
  getInFlight: boolean;
  /** when the longest waiter gives up (performance.now) */
  deadline: number;
  /** the watch or a relist spoke about this key since the GET started: it wins over the GET */
  watchSeen: boolean;
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class ServiceAccountCache {
  private readonly store = new Map<string, Annotations>();
  private readonly pending = new Map<string, Pending>();
  private readonly keys: ReadonlySet<string>;
  private isSynced = false;
  private lostAt: number | undefined;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly gate: GetGate;

  constructor(
    private readonly source: ServiceAccountSource,
    private readonly opts: ServiceAccountCacheOptions,
  ) {
    this.keys = new Set(opts.annotationKeys);
    // Every direct GET in flight holds one abort listener on this signal (removed when the GET
    // ends), so a burst of lookups for distinct accounts is not a listener leak worth a warning.
    setMaxListeners(0, this.stopController.signal);
    this.gate = new GetGate(opts);
  }

  /**
   * How long the API server has not answered (0 while it does): the cache may be missing changes
   * made meanwhile. Readiness stays true (failing every replica would stop all pod mutation).
   */
  disconnectedForMs(): number {
    return this.lostAt === undefined ? 0 : (this.opts.now ?? Date.now)() - this.lostAt;
  }

  /** True once the first complete list is in. Never goes back to false while running. */
  synced(): boolean {
    return this.isSynced;
  }

  /** Number of accounts known (annotated or not). */
  /** Every cached account's kept annotations by "namespace/name" (the debug dump). */
  entries(): IterableIterator<[string, Annotations]> {
    return this.store.entries();
  }

  size(): number {
    return this.store.size;
  }

  /** Number of accounts with waiters or a GET in flight; 0 when idle (tests check nothing is stuck). */
  pendingCount(): number {
    return this.pending.size;
  }

  /** Starts the list/watch loop in the background. */
  start(): void {
    this.loop ??= runReflector(
      this.source,
      {
        replace: (items, rv) => {
          this.replace(items, rv);
        },
        apply: (e) => {
          this.apply(e);
        },
        synced: () => this.isSynced,
      },
      {
        ...this.opts,
        onContact: (ok) => {
          if (ok) this.lostAt = undefined;
          else this.lostAt ??= (this.opts.now ?? Date.now)();
        },
      },
      this.stopController.signal,
    );
  }

  /** Stops the loop and releases every waiter (as a miss). */
  async stop(): Promise<void> {
    this.stopController.abort();
    this.gate.stop();
    for (const p of this.pending.values()) {
      for (const w of [...p.waiters]) w(EMPTY, "miss");
    }
    await this.loop;
  }

  /** Cached annotations without waiting; undefined if unknown. */
  peek(namespace: string, name: string): Annotations | undefined {
    return this.store.get(keyOf(namespace, name));
  }

  /**
   * The account's kept annotations. On a miss, waits up to `graceMs` for the watch or one direct
   * GET (shared by every concurrent lookup of the same account) to find it.
   */
  lookup(namespace: string, name: string, graceMs: number): Promise<LookupResult> {
    const key = keyOf(namespace, name);
    const hit = this.store.get(key);
    if (hit !== undefined) return Promise.resolve({ annotations: hit, via: "cache" });
    if (this.opts.namespace !== undefined && namespace !== this.opts.namespace) {
      return Promise.resolve({ annotations: undefined, via: "out-of-scope" });
    }
    if (!(graceMs > 0) || this.stopController.signal.aborted) {
      return Promise.resolve({ annotations: undefined, via: "no-wait" });
    }
    return new Promise((resolve) => {
      let p = this.pending.get(key);
      const deadline = performance.now() + graceMs;
      if (p === undefined) {
        p = { waiters: new Set(), getInFlight: false, deadline, watchSeen: false };
        this.pending.set(key, p);
      }
      const entry = p;
      entry.deadline = Math.max(entry.deadline, deadline);
      const waiter = (annotations: Annotations, via: LookupVia): void => {
        clearTimeout(timer);
        entry.waiters.delete(waiter);
        this.release(key, entry);
        resolve(via === "miss" ? { annotations: undefined, via } : { annotations, via });
      };
      const timer = setTimeout(() => {
        waiter(EMPTY, "miss");
      }, graceMs);
      entry.waiters.add(waiter);
      if (!entry.getInFlight && !this.gate.queued(key)) {
        this.gate.request(
          key,
          () => {
            this.startGet(namespace, name, key, entry);
          },
          () =>
            this.pending.get(key) === entry && entry.waiters.size > 0 && entry.deadline > performance.now(),
        );
      }
    });
  }

  private release(key: string, p: Pending): void {
    if (p.waiters.size === 0 && !p.getInFlight && this.pending.get(key) === p) {
      this.pending.delete(key);
      this.gate.cancel(key);
    }
  }

  private startGet(namespace: string, name: string, key: string, p: Pending): void {
    p.getInFlight = true;
    p.watchSeen = false;
    const waitMs = Math.max(1, p.deadline - performance.now());
    const link = linkedSignal(this.stopController.signal, Math.min(this.opts.getTimeoutMs, waitMs));
    this.source
      .get(namespace, name, link.signal)
      .then(
        (sa) => {
          this.opts.onGet?.(sa === undefined ? "not_found" : "found");
          if (sa === undefined) {
            this.gate.rememberMissing(key);
            // Keep waiting: the account may be created concurrently and arrive through the watch.
            this.opts.log.debug({ namespace, name }, "service account not found by direct lookup");
            return;
          }
          if (p.watchSeen) return; // the watch spoke since: it is newer than this answer
          const annotations = this.pick(sa.annotations);
          this.store.set(key, annotations);
          this.notify(key, annotations, "get");
        },
        (e: unknown) => {
          this.opts.onGet?.("error");
          this.opts.log.warn(
            { namespace, name, err: errorMessage(e) },
            "direct service account lookup failed; waiting for the watch until the grace period ends",
          );
        },
      )
      .finally(() => {
        link.dispose();
        p.getInFlight = false;
        this.release(key, p);
      });
  }

  private notify(key: string, annotations: Annotations, via: LookupVia): void {
    const p = this.pending.get(key);
    if (p === undefined) return;
    if (via !== "get") p.watchSeen = true;
    for (const w of [...p.waiters]) w(annotations, via);
  }

  /** Only the configured keys; a shared empty object for accounts without any. */
  private pick(annotations: ServiceAccountRecord["annotations"]): Annotations {
    if (annotations === undefined || annotations === null) return EMPTY;
    let kept: Record<string, string> | undefined;
    for (const k of this.keys) {
      const v = annotations[k];
      if (typeof v === "string") (kept ??= {})[k] = v;
    }
    return kept === undefined ? EMPTY : Object.freeze(kept);
  }

  private setSynced(v: boolean): void {
    if (this.isSynced === v) return;
    this.isSynced = v;
    this.opts.onSynced?.(v);
  }

  /** A complete list: the store becomes exactly its accounts; waiters for any of them are answered. */
  private replace(items: readonly ServiceAccountRecord[], resourceVersion: string): void {
    const next = new Map<string, Annotations>();
    for (const sa of items) next.set(keyOf(sa.namespace, sa.name), this.pick(sa.annotations));
    this.store.clear();
    for (const [k, v] of next) {
      this.store.set(k, v);
      this.gate.forget(k);
    }
    for (const [k, p] of this.pending) {
      p.watchSeen = true;
      const found = this.store.get(k);
      if (found !== undefined) this.notify(k, found, "watch");
    }
    if (!this.isSynced) {
      this.opts.log.info(
        { serviceAccounts: this.store.size, resourceVersion },
        "service account cache synced",
      );
    }
    this.setSynced(true);
  }

  private apply(e: ServiceAccountChange): void {
    const key = keyOf(e.object.namespace, e.object.name);
    if (e.type === "DELETED") {
      this.store.delete(key);
      const p = this.pending.get(key);
      if (p !== undefined) p.watchSeen = true;
      return;
    }
    const annotations = this.pick(e.object.annotations);
    this.store.set(key, annotations);
    this.gate.forget(key);
    this.notify(key, annotations, "watch");
  }
}

/** Full annotation keys the cache keeps, under an annotation prefix such as "eks.amazonaws.com". */
export function serviceAccountAnnotationKeys(prefix: string): string[] {
  const { roleArn, audience, stsRegionalEndpoints, tokenExpiration } = ANNOTATIONS;
  return [roleArn, audience, stsRegionalEndpoints, tokenExpiration].map((k) => `${prefix}/${k}`);
}
