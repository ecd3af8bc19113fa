/**
 * An in-memory FAKE of kube-apiserver's ServiceAccount list, watch and get, as the
 * `ServiceAccountSource` that src/webhook/sa-cache.ts reads through.
 *
 * Why a fake: tests script the exact interleaving the cache must survive (an account created but
 * not yet delivered by the watch, a watch that expires with 410, a GET that hangs, a first list
 * held back to test readiness) deterministically and in milliseconds. The real source
 * (@kubernetes/client-node against a real kube-apiserver) is exercised in the e2e tier.
 */
import type { Log } from "../../src/runtime/log.js";
import type {
  ServiceAccountEvent,
  ServiceAccountRecord,
  ServiceAccountSource,
} from "../../src/webhook/sa-cache.js";

interface Watcher {
  onEvent: (e: ServiceAccountEvent) => void;
  end: (err?: Error) => void;
  resourceVersion: string;
}

export class FakeServiceAccountSource implements ServiceAccountSource {
  readonly items = new Map<string, ServiceAccountRecord>();
  rv = 100;
  listCalls = 0;
  listFailures = 0;
  readonly getCalls: string[] = [];
  readonly watchCalls: string[] = [];
  /** The server-side timeout (timeoutSeconds) each watch asked for. */
  readonly watchTimeouts: (number | undefined)[] = [];
  readonly watchers = new Set<Watcher>();
  /**
   * The next this-many watches are dead connections (a network partition): they get no events,
   * never end and never fail; only aborting them settles them. Kept in `deadWatchers`, not `watchers`.
   */
  deadWatches = 0;
  /**
   * Watches settle on abort by rejecting with an AbortError, as a client whose request is aborted
   * does; by default they resolve.
   */
  rejectOnAbort = false;
  readonly deadWatchers = new Set<Watcher>();
  /** Replaces the GET behaviour; default answers from `items`. */
  getImpl:
    | ((ns: string, name: string, signal: AbortSignal) => Promise<ServiceAccountRecord | undefined>)
    | undefined;
  private readonly listGate: Promise<void> | undefined;
  private openListGate: () => void = () => undefined;

  /** `holdLists`: every list() waits until releaseLists() (the cache stays unsynced until then). */
  constructor(opts: { holdLists?: boolean } = {}) {
    if (opts.holdLists === true) this.listGate = new Promise<void>((r) => (this.openListGate = r));
  }

  /** Lets held lists complete (see the constructor). */
  releaseLists(): void {
    this.openListGate();
  }

  /** The next this-many lists never answer; only aborting their signal settles them (rejected). */
  hangingLists = 0;

  list(signal?: AbortSignal): Promise<{ items: ServiceAccountRecord[]; resourceVersion: string }> {
    this.listCalls++;
    if (this.hangingLists > 0 && signal !== undefined) {
      this.hangingLists--;
      return new Promise((_, reject) => {
        signal.addEventListener(
          "abort",
          () => {
            reject(new Error("list aborted"));
          },
          { once: true },
        );
      });
    }
    if (this.listGate !== undefined) return this.listGate.then(() => this.answerList());
    return this.answerList();
  }

  private answerList(): Promise<{ items: ServiceAccountRecord[]; resourceVersion: string }> {
    if (this.listFailures > 0) {
      this.listFailures--;
      return Promise.reject(new Error("connect ECONNREFUSED"));
    }
    return Promise.resolve({ items: [...this.items.values()], resourceVersion: String(this.rv) });
  }

  watch(
    resourceVersion: string,
    onEvent: (e: ServiceAccountEvent) => void,
    signal: AbortSignal,
    timeoutSeconds?: number,
  ): Promise<void> {
    this.watchCalls.push(resourceVersion);
    this.watchTimeouts.push(timeoutSeconds);
    const dead = this.deadWatches > 0;
    if (dead) this.deadWatches--;
    const set = dead ? this.deadWatchers : this.watchers;
    return new Promise((resolve, reject) => {
      const w: Watcher = {
        onEvent,
        resourceVersion,
        end: (err) => {
          set.delete(w);
          if (err === undefined) resolve();
          else reject(err);
        },
      };
      set.add(w);
      signal.addEventListener(
        "abort",
        () => {
          w.end(
            this.rejectOnAbort ? new DOMException("This operation was aborted", "AbortError") : undefined,
          );
        },
        { once: true },
      );
    });
  }

  get(ns: string, name: string, signal: AbortSignal): Promise<ServiceAccountRecord | undefined> {
    this.getCalls.push(`${ns}/${name}`);
    if (this.getImpl) return this.getImpl(ns, name, signal);
    return Promise.resolve(this.items.get(`${ns}/${name}`));
  }

  /** Stores an account without telling watchers (as if the watch lags behind etcd). */
  put(ns: string, name: string, annotations?: Record<string, string>): ServiceAccountRecord {
    const sa = { namespace: ns, name, annotations, resourceVersion: String(++this.rv) };
    this.items.set(`${ns}/${name}`, sa);
    return sa;
  }

  /** Stores an account and sends the watch event. */
  apply(ns: string, name: string, annotations?: Record<string, string>): void {
    const existed = this.items.has(`${ns}/${name}`);
    const sa = this.put(ns, name, annotations);
    this.emit({ type: existed ? "MODIFIED" : "ADDED", object: sa });
  }

  remove(ns: string, name: string): void {
    const sa = this.items.get(`${ns}/${name}`);
    if (!sa) return;
    this.items.delete(`${ns}/${name}`);
    this.emit({ type: "DELETED", object: { ...sa, resourceVersion: String(++this.rv) } });
  }

  emit(e: ServiceAccountEvent): void {
    for (const w of [...this.watchers]) w.onEvent(e);
  }

  endWatches(err?: Error): void {
    for (const w of [...this.watchers]) w.end(err);
  }
}

export interface LogLine {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly msg: string;
  readonly obj: Record<string, unknown>;
}

/** A Log that keeps every line, for tests of what an operator is told. */
export function recordingLog(): Log & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine["level"]) =>
    (obj: object, msg: string): void => {
      lines.push({ level, msg, obj: obj as Record<string, unknown> });
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A Log that drops everything, for a cache or server under test. */
export { silentLog as quiet } from "../../src/runtime/log.js";
