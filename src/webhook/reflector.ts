/**
 * The reflector behind the ServiceAccount cache, as client-go's: list, then watch from the list's
 * resourceVersion (with bookmarks); relist when the server says the version is gone (410);
 * reconnect after failures with a jittered, capped, doubling backoff; and a watchdog that takes a
 * watch silent past its server-side timeout for a dead connection. What it sees goes to a sink.
 */
import type {
  ServiceAccountEvent,
  ServiceAccountList,
  ServiceAccountRecord,
  ServiceAccountSource,
} from "../adapters/kubernetes/service-accounts.js";
import { linkedSignal } from "../runtime/linked-signal.js";
import type { Log } from "../runtime/log.js";
import { sleep } from "../runtime/signals.js";

/** An object event of a watch. */
export type ServiceAccountChange = Extract<ServiceAccountEvent, { object: ServiceAccountRecord }>;

/** Where the reflector's news goes. */
export interface ReflectorSink {
  /** A complete list at `resourceVersion`: the store becomes exactly these accounts. */
  replace(items: readonly ServiceAccountRecord[], resourceVersion: string): void;
  /** One ADDED, MODIFIED or DELETED event. */
  apply(e: ServiceAccountChange): void;
  /** For log lines: whether a first list has completed. */
  synced(): boolean;
}

export interface ReflectorTiming {
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
}

export interface ReflectorOptions extends ReflectorTiming {
  readonly log: Log;
  /**
   * Called with false when a list or watch fails, and with true when the API server answers again
   * (a list, an event or bookmark, a watch it ends itself).
   */
  readonly onContact?: (ok: boolean) => void;
}

/**
 * The longest wait between reconnects. An outage grows the backoff, and the first reconnect after
 * the API server is back waits for it: a long cap meant pods got stale settings (an old role ARN)
 * for up to the cap after a restart, so keep it at a few seconds. Jitter (×0.5 to ×1) spreads the
 * replicas' reconnects.
 */
export const DEFAULT_BACKOFF_MAX_MS: number = 4000;

function isGone(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const o = e as { statusCode?: unknown; code?: unknown };
  return o.statusCode === 410 || o.code === 410;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Lists into the sink; returns the list's resourceVersion. */
async function relist(
  source: ServiceAccountSource,
  sink: ReflectorSink,
  opts: ReflectorOptions,
  signal: AbortSignal,
): Promise<string> {
  const link = linkedSignal(signal, opts.listTimeoutMs ?? 60_000);
  let list: ServiceAccountList;
  try {
    list = await source.list(link.signal);
  } finally {
    link.dispose();
  }
  sink.replace(list.items, list.resourceVersion);
  return list.resourceVersion;
}

/** Runs until `stop` aborts. Never rejects: every failure is logged and retried. */
export async function runReflector(
  source: ServiceAccountSource,
  sink: ReflectorSink,
  opts: ReflectorOptions,
  stop: AbortSignal,
): Promise<void> {
  const initial = opts.backoffInitialMs ?? 500;
  const max = opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const watchTimeoutMs = opts.watchTimeoutMs ?? 300_000;
  const idleMarginMs = opts.watchIdleMarginMs ?? 30_000;
  let resourceVersion = "";
  let backoff = initial;
  let lostAt: number | undefined;
  const contact = (ok: boolean): void => {
    if (ok) lostAt = undefined;
    else lostAt ??= Date.now();
    opts.onContact?.(ok);
  };
  const fail = async (what: string, e: unknown): Promise<void> => {
    contact(false);
    const delay = Math.round(backoff * (0.5 + Math.random() / 2));
    opts.log.warn(
      {
        err: errorMessage(e),
        retryInMs: delay,
        synced: sink.synced(),
        // Pods get the settings last seen until the API server answers again.
        staleForMs: Date.now() - (lostAt ?? Date.now()),
      },
      `service account ${what} failed; the cache may be stale until it answers again`,
    );
    await sleep(delay, stop);
    backoff = Math.min(backoff * 2, max);
  };
  const onEvent = (e: ServiceAccountEvent, gone: () => void): void => {
    if (lostAt !== undefined) contact(true);
    switch (e.type) {
      case "BOOKMARK":
        resourceVersion = e.resourceVersion;
        return;
      case "ERROR":
        if (e.code === 410) gone();
        else opts.log.warn({ code: e.code, err: e.message }, "service account watch error event");
        return;
      default:
        sink.apply(e);
        if (e.object.resourceVersion !== undefined && e.object.resourceVersion !== "") {
          resourceVersion = e.object.resourceVersion;
        }
    }
  };
  // A function, not a property read: the flag flips in callbacks the compiler cannot see.
  const stopped = (): boolean => stop.aborted;
  while (!stopped()) {
    if (resourceVersion === "") {
      try {
        resourceVersion = await relist(source, sink, opts, stop);
        contact(true);
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
      const watching = source.watch(
        resourceVersion,
        (e) => {
          if (watchStop.signal.aborted) return; // a watch given up on: its news is stale
          idle?.refresh();
          onEvent(e, () => {
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
      contact(true); // the server ended the watch itself: it is there
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
      opts.log.info({ resourceVersion }, "service account watch expired; relisting");
      resourceVersion = "";
    }
  }
}
