/**
 * The ServiceAccount cache behind the admission handler.
 *
 * A reflector (list, then watch from the list's resourceVersion; relist when the server says the
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
 * - no silent stall: a watch that delivers nothing (no event, no bookmark) past its server-side
 *   timeout plus a margin is a dead connection the client library would wait on forever; it is
 *   aborted and resumed (see `watchIdleMarginMs`).
 *
 * The Kubernetes I/O sits behind `ServiceAccountSource`; `kubeServiceAccountSource` is the real one
 * (@kubernetes/client-node), tests use an in-memory fake.
 */
import { setMaxListeners } from "node:events";
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  setHeaderMiddleware,
  Watch,
  type ConfigurationOptions,
  type V1ServiceAccount,
} from "@kubernetes/client-node";
import { ANNOTATIONS } from "../core/mutate/config.js";
import { linkedSignal } from "./linked-signal.js";

/** What the cache needs of a ServiceAccount. */
export interface ServiceAccountRecord {
  readonly namespace: string;
  readonly name: string;
  readonly annotations?: Readonly<Record<string, string>> | null | undefined;
  readonly resourceVersion?: string | undefined;
}

export type ServiceAccountEvent =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: ServiceAccountRecord }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string }
  | { readonly type: "ERROR"; readonly code: number | undefined; readonly message: string };

export interface ServiceAccountList {
  readonly items: readonly ServiceAccountRecord[];
  readonly resourceVersion: string;
}

/** list, watch and get ServiceAccounts, scoped to one namespace or all. */
export interface ServiceAccountSource {
  list(signal: AbortSignal): Promise<ServiceAccountList>;
  /**
   * Streams changes after `resourceVersion` to `onEvent`, with bookmarks, asking the server to end
   * the watch after `timeoutSeconds`. Resolves when the server ends the watch, rejects on a transport
   * error (`statusCode`/`code` 410 means: relist), settles soon after `signal` aborts.
   */
  watch(
    resourceVersion: string,
    onEvent: (e: ServiceAccountEvent) => void,
    signal: AbortSignal,
    timeoutSeconds: number,
  ): Promise<void>;
  /** The account, or undefined if it does not exist (404). */
  get(namespace: string, name: string, signal: AbortSignal): Promise<ServiceAccountRecord | undefined>;
}

/** Structured logger; pino's Logger fits. */
export interface Log {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

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

export interface ServiceAccountCacheOptions {
  /** Full annotation keys to keep, e.g. "eks.amazonaws.com/role-arn". Others are dropped on arrival. */
  readonly annotationKeys: readonly string[];
  /** Restrict to this namespace (the source must be scoped the same way); undefined: all. */
  readonly namespace?: string | undefined;
  /** Timeout of one direct GET; it never outlives the longest waiter that asked for it. */
  readonly getTimeoutMs: number;
  /** Timeout of one list call. */
  readonly listTimeoutMs?: number;
  /** Reconnect backoff after failures: starts here, doubles, capped at `backoffMaxMs`. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /**
   * Server-side timeout of each watch: a random value in [this, 2 × this), sent as whole seconds
   * (`timeoutSeconds`, rounded down), so reconnects spread out as client-go's do. Default 300 000
   * (5 to 10 minutes).
   */
  readonly watchTimeoutMs?: number;
  /**
   * Watchdog: a watch that delivers nothing (no event, no bookmark) for its server-side timeout plus
   * this margin is taken for a dead connection, aborted, and resumed as after a transport error.
   * @kubernetes/client-node sets no client-side timeout on a watch, so without this a connection
   * lost without a reset (a network partition, a stall before the response headers) would stop the
   * cache for good. A healthy server ends every watch within its timeout and sends bookmarks on the
   * way, so the margin only absorbs delays. Default 30 000.
   */
  readonly watchIdleMarginMs?: number;
  readonly log: Log;
  /** Called once per direct GET, for metrics. */
  readonly onGet?: (outcome: GetOutcome) => void;
  /** Called when the synced state changes, for metrics. */
  readonly onSynced?: (synced: boolean) => void;
}

const EMPTY: Annotations = Object.freeze({});

interface Pending {
  readonly waiters: Set<(annotations: Annotations, via: LookupVia) => void>;
  getInFlight: boolean;
  /** the watch or a relist spoke about this key since the GET started: it wins over the GET */
  watchSeen: boolean;
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function isGone(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const o = e as { statusCode?: unknown; code?: unknown };
  return o.statusCode === 410 || o.code === 410;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class ServiceAccountCache {
  private readonly store = new Map<string, Annotations>();
  private readonly pending = new Map<string, Pending>();
  private readonly keys: ReadonlySet<string>;
  private resourceVersion = "";
  private isSynced = false;
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly source: ServiceAccountSource,
    private readonly opts: ServiceAccountCacheOptions,
  ) {
    this.keys = new Set(opts.annotationKeys);
    // Every direct GET in flight holds one abort listener on this signal (removed when the GET
    // ends), so a burst of lookups for distinct accounts is not a listener leak worth a warning.
    setMaxListeners(0, this.stopController.signal);
  }

  /** True once the first complete list is in. Never goes back to false while running. */
  synced(): boolean {
    return this.isSynced;
  }

  /** Number of accounts known (annotated or not). */
  size(): number {
    return this.store.size;
  }

  /** Number of accounts with waiters or a GET in flight; 0 when idle (tests check nothing is stuck). */
  pendingCount(): number {
    return this.pending.size;
  }

  /** Starts the list/watch loop in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stops the loop and releases every waiter (as a miss). */
  async stop(): Promise<void> {
    this.stopController.abort();
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
      if (p === undefined) {
        p = { waiters: new Set(), getInFlight: false, watchSeen: false };
        this.pending.set(key, p);
      }
      const entry = p;
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
      if (!entry.getInFlight) this.startGet(namespace, name, key, entry, graceMs);
    });
  }

  private release(key: string, p: Pending): void {
    if (p.waiters.size === 0 && !p.getInFlight && this.pending.get(key) === p) this.pending.delete(key);
  }

  private startGet(namespace: string, name: string, key: string, p: Pending, graceMs: number): void {
    p.getInFlight = true;
    p.watchSeen = false;
    const link = linkedSignal(this.stopController.signal, Math.min(this.opts.getTimeoutMs, graceMs));
    this.source
      .get(namespace, name, link.signal)
      .then(
        (sa) => {
          this.opts.onGet?.(sa === undefined ? "not_found" : "found");
          if (sa === undefined) {
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

  private async relist(signal: AbortSignal): Promise<void> {
    const link = linkedSignal(signal, this.opts.listTimeoutMs ?? 60_000);
    let list: ServiceAccountList;
    try {
      list = await this.source.list(link.signal);
    } finally {
      link.dispose();
    }
    const next = new Map<string, Annotations>();
    for (const sa of list.items) next.set(keyOf(sa.namespace, sa.name), this.pick(sa.annotations));
    this.store.clear();
    for (const [k, v] of next) this.store.set(k, v);
    this.resourceVersion = list.resourceVersion;
    for (const [k, p] of this.pending) {
      p.watchSeen = true;
      const found = this.store.get(k);
      if (found !== undefined) this.notify(k, found, "watch");
    }
    if (!this.isSynced) {
      this.opts.log.info(
        { serviceAccounts: this.store.size, resourceVersion: list.resourceVersion },
        "service account cache synced",
      );
    }
    this.setSynced(true);
  }

  private onEvent(e: ServiceAccountEvent, gone: () => void): void {
    switch (e.type) {
      case "ADDED":
      case "MODIFIED": {
        const key = keyOf(e.object.namespace, e.object.name);
        const annotations = this.pick(e.object.annotations);
        this.store.set(key, annotations);
        this.notify(key, annotations, "watch");
        break;
      }
      case "DELETED": {
        const key = keyOf(e.object.namespace, e.object.name);
        this.store.delete(key);
        const p = this.pending.get(key);
        if (p !== undefined) p.watchSeen = true;
        break;
      }
      case "BOOKMARK":
        this.resourceVersion = e.resourceVersion;
        return;
      case "ERROR":
        if (e.code === 410) {
          gone();
        } else {
          this.opts.log.warn({ code: e.code, err: e.message }, "service account watch error event");
        }
        return;
    }
    if (e.object.resourceVersion !== undefined && e.object.resourceVersion !== "") {
      this.resourceVersion = e.object.resourceVersion;
    }
  }

  private async run(): Promise<void> {
    const stop = this.stopController.signal;
    const initial = this.opts.backoffInitialMs ?? 500;
    const max = this.opts.backoffMaxMs ?? 30_000;
    const watchTimeoutMs = this.opts.watchTimeoutMs ?? 300_000;
    const idleMarginMs = this.opts.watchIdleMarginMs ?? 30_000;
    let backoff = initial;
    const fail = async (what: string, e: unknown): Promise<void> => {
      const delay = Math.round(backoff * (0.5 + Math.random() / 2));
      this.opts.log.warn(
        { err: errorMessage(e), retryInMs: delay, synced: this.isSynced },
        `service account ${what} failed`,
      );
      await sleep(delay, stop);
      backoff = Math.min(backoff * 2, max);
    };
    // A function, not a property read: the flag flips in callbacks the compiler cannot see.
    const stopped = (): boolean => stop.aborted;
    while (!stopped()) {
      if (this.resourceVersion === "") {
        try {
          await this.relist(stop);
          backoff = initial;
        } catch (e) {
          if (stopped()) break;
          await fail("list", e);
          continue;
        }
      }
      if (stopped()) break;
      const watchStop = linkedSignal(stop);
      const state = { expired: false };
      const started = Date.now();
      const timeoutMs = watchTimeoutMs + Math.floor(Math.random() * watchTimeoutMs);
      const timeoutSeconds = Math.max(1, Math.floor(timeoutMs / 1000));
      const idleMs = timeoutMs + idleMarginMs;
      let idle: NodeJS.Timeout | undefined;
      try {
        const silent = new Promise<"silent">((resolve) => {
          idle = setTimeout(resolve, idleMs, "silent");
        });
        const watching = this.source.watch(
          this.resourceVersion,
          (e) => {
            if (watchStop.signal.aborted) return; // a watch given up on: its news is stale
            idle?.refresh();
            this.onEvent(e, () => {
              state.expired = true;
              watchStop.abort();
            });
          },
          watchStop.signal,
          timeoutSeconds,
        );
        if ((await Promise.race([watching, silent])) === "silent") {
          watchStop.abort();
          // It should settle soon after the abort; if it never does, nothing waits for it.
          watching.catch(() => undefined);
          throw new Error(
            `no event or bookmark for ${idleMs} ms (server-side timeout ${timeoutSeconds} s): connection taken for dead`,
          );
        }
        clearTimeout(idle);
        if (!state.expired && Date.now() - started < 1000) {
          // A watch that ends at once, again and again, must not spin.
          await sleep(backoff, stop);
          backoff = Math.min(backoff * 2, max);
        } else {
          backoff = initial;
        }
      } catch (e) {
        if (stopped()) break;
        if (isGone(e)) {
          state.expired = true;
        } else if (!state.expired) {
          // A watch that ran a while is a fresh failure, not the outage that grew the backoff.
          if (Date.now() - started >= 1000) backoff = initial;
          await fail("watch", e);
        }
      } finally {
        clearTimeout(idle);
        watchStop.dispose();
      }
      if (state.expired) {
        this.opts.log.info(
          { resourceVersion: this.resourceVersion },
          "service account watch expired; relisting",
        );
        this.resourceVersion = "";
      }
    }
  }
}

/** Full annotation keys the cache keeps, under an annotation prefix such as "eks.amazonaws.com". */
export function serviceAccountAnnotationKeys(prefix: string): string[] {
  const { roleArn, audience, stsRegionalEndpoints, tokenExpiration } = ANNOTATIONS;
  return [roleArn, audience, stsRegionalEndpoints, tokenExpiration].map((k) => `${prefix}/${k}`);
}

interface RawMeta {
  namespace?: unknown;
  name?: unknown;
  annotations?: unknown;
  resourceVersion?: unknown;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** From a decoded V1ServiceAccount or the raw JSON of a watch event. */
function fromMeta(meta: RawMeta | undefined): ServiceAccountRecord {
  const a = meta?.annotations;
  return {
    namespace: str(meta?.namespace) ?? "",
    name: str(meta?.name) ?? "",
    annotations: typeof a === "object" && a !== null ? (a as Record<string, string>) : undefined,
    resourceVersion: str(meta?.resourceVersion),
  };
}

function fromV1(sa: V1ServiceAccount): ServiceAccountRecord {
  return fromMeta(sa.metadata);
}

/** Per-call options that abort the request with `signal`. */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  const base = setHeaderMiddleware("Accept", "application/json");
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(signal);
          return base.pre(ctx);
        },
        post: (ctx) => base.post(ctx),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}

/**
 * The real source: the API server through @kubernetes/client-node. Needs get, list and watch on
 * serviceaccounts (cluster-wide, or in `namespace` only).
 */
export function kubeServiceAccountSource(kc: KubeConfig, namespace?: string): ServiceAccountSource {
  const api = kc.makeApiClient(CoreV1Api);
  const watcher = new Watch(kc);
  const path =
    namespace === undefined
      ? "/api/v1/serviceaccounts"
      : `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts`;
  return {
    async list(signal) {
      const items: ServiceAccountRecord[] = [];
      let cont: string | undefined;
      let resourceVersion = "";
      do {
        const page =
          namespace === undefined
            ? await api.listServiceAccountForAllNamespaces(
                { limit: 500, _continue: cont },
                withSignal(signal),
              )
            : await api.listNamespacedServiceAccount(
                { namespace, limit: 500, _continue: cont },
                withSignal(signal),
              );
        for (const sa of page.items) items.push(fromV1(sa));
        resourceVersion = page.metadata?.resourceVersion ?? "";
        cont = page.metadata?._continue || undefined;
      } while (cont !== undefined);
      return { items, resourceVersion };
    },

    watch(resourceVersion, onEvent, signal, timeoutSeconds) {
      return new Promise<void>((resolve, reject) => {
        let controller: AbortController | undefined;
        let settled = false;
        const done = (err: unknown): void => {
          if (settled) return;
          settled = true;
          signal.removeEventListener("abort", onAbort);
          if (err === null || err === undefined || signal.aborted) resolve();
          else reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
        };
        const onAbort = (): void => {
          controller?.abort();
          done(null);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        watcher
          .watch(
            path,
            { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
            (phase: string, obj: unknown) => {
              if (settled) return;
              const o = (typeof obj === "object" && obj !== null ? obj : {}) as {
                metadata?: RawMeta;
                code?: unknown;
                message?: unknown;
              };
              if (phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED") {
                onEvent({ type: phase, object: fromMeta(o.metadata) });
              } else if (phase === "BOOKMARK") {
                onEvent({ type: "BOOKMARK", resourceVersion: str(o.metadata?.resourceVersion) ?? "" });
              } else if (phase === "ERROR") {
                const code = typeof o.code === "number" ? o.code : undefined;
                onEvent({ type: "ERROR", code, message: str(o.message) ?? "watch error" });
              }
            },
            done,
          )
          .then(
            (c) => {
              controller = c;
              if (settled) c.abort();
            },
            (e: unknown) => {
              done(e);
            },
          );
      });
    },

    async get(ns, name, signal) {
      try {
        return fromV1(await api.readNamespacedServiceAccount({ namespace: ns, name }, withSignal(signal)));
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return undefined;
        throw e;
      }
    },
  };
}
