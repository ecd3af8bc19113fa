/**
 * The sync loop: every interval, read the source once and sync each target; on failure retry
 * with exponential backoff. Each error is counted every time and logged once (again only when it
 * changes), with its cause; recoveries are logged. Ready once every target has been synced.
 */
import { isIrsaError } from "../core/errors.js";
import { Backoff } from "../runtime/backoff.js";
import type { Log } from "../runtime/log.js";
import { sleep } from "../runtime/signals.js";
import type { IssuerMetrics } from "./metrics.js";
import type { Source } from "./source.js";
import { syncTarget, type SyncResult } from "./sync.js";
import type { Target } from "./target.js";

export interface ControllerOptions {
  readonly source: Source;
  readonly targets: readonly Target[];
  readonly retainMs: number;
  readonly publicIssuer: string | undefined;
  readonly intervalMs: number;
  readonly log: Log;
  readonly metrics: IssuerMetrics;
  /** Injected clock (tests drive rotation with it); Date.now by default. */
  readonly now?: () => number;
  /** First retry delay after a failure; default 1 s, doubling up to max(interval, 60 s). */
  readonly initialBackoffMs?: number;
  /** Called after every pass with the results that succeeded. */
  readonly onPass?: (results: readonly SyncResult[], ok: boolean) => void;
}

function kindOf(e: unknown): string {
  return isIrsaError(e) ? e.code.toLowerCase() : "internal";
}

function messageOf(e: unknown): string {
  return isIrsaError(e) ? e.describe() : e instanceof Error ? e.message : String(e);
}

function causeOf(e: unknown): string | undefined {
  const c = (e as { cause?: unknown }).cause;
  return c === undefined ? undefined : c instanceof Error ? `${c.name}: ${c.message}` : JSON.stringify(c);
}

export class SyncController {
  private readonly synced = new Set<string>();
  /** Last error logged per scope ("source" or a target name), so repeats are not logged again. */
  private readonly lastError = new Map<string, string>();
  private readonly backoff: Backoff;
  private readonly now: () => number;

  constructor(private readonly o: ControllerOptions) {
    this.now = o.now ?? Date.now;
    this.backoff = new Backoff({
      initialMs: o.initialBackoffMs ?? 1000,
      maxMs: Math.max(o.intervalMs, 60_000),
    });
  }

  /** Why not ready: some target never synced. */
  readiness(): string | undefined {
    const missing = this.o.targets.filter((t) => !this.synced.has(t.name)).map((t) => t.name);
    return missing.length === 0 ? undefined : `not synced yet: ${missing.join(", ")}`;
  }

  private failed(scope: string, e: unknown): void {
    this.o.metrics.errors.inc({ kind: kindOf(e) });
    const msg = messageOf(e);
    if (this.lastError.get(scope) === msg) {
      this.o.log.debug({ scope, kind: kindOf(e) }, "still failing");
      return;
    }
    this.lastError.set(scope, msg);
    this.o.log.error({ scope, kind: kindOf(e), err: msg, cause: causeOf(e) }, "issuer sync failed");
  }

  private succeeded(scope: string): void {
    if (this.lastError.delete(scope)) this.o.log.info({ scope }, "issuer sync recovered");
  }

  /** One pass: the source once, then every target. True when every target is current. */
  async runOnce(): Promise<boolean> {
    const { log, metrics } = this.o;
    let snapshot;
    try {
      snapshot = await this.o.source.read();
      this.succeeded("source");
    } catch (e) {
      this.failed("source", e);
      for (const t of this.o.targets) metrics.syncs.inc({ target: t.name, result: "error" });
      this.o.onPass?.([], false);
      return false;
    }
    const results: SyncResult[] = [];
    let ok = true;
    for (const t of this.o.targets) {
      try {
        const r = await syncTarget(snapshot, t, {
          retainMs: this.o.retainMs,
          publicIssuer: this.o.publicIssuer,
          now: this.now,
        });
        for (const p of r.recovered) this.failed(`${t.name} state`, p);
        if (r.recovered.length === 0) this.succeeded(`${t.name} state`);
        this.succeeded(t.name);
        results.push(r);
        this.synced.add(t.name);
        metrics.syncs.inc({ target: t.name, result: r.written.length > 0 ? "written" : "unchanged" });
        metrics.lastSuccess.set({ target: t.name }, this.now() / 1000);
        metrics.keysPublished.set({ target: t.name }, r.published);
        metrics.keysRetained.set({ target: t.name }, r.retained.length);
        for (const object of r.written) metrics.writes.inc({ target: t.name, object });
        if (r.conflicts.length > 0) {
          metrics.conflicts.inc({ target: t.name }, r.conflicts.length);
          log.info(
            { target: t.name, conflicts: r.conflicts.map((c) => c.message) },
            "another replica wrote meanwhile; merged with what it wrote",
          );
        }
        if (r.written.length > 0) {
          log.info(
            {
              target: t.name,
              written: r.written,
              keys: r.published,
              retained: r.retained,
              dropped: r.dropped,
              rewrites: r.rewrites,
            },
            "published",
          );
        }
      } catch (e) {
        ok = false;
        metrics.syncs.inc({ target: t.name, result: "error" });
        this.failed(t.name, e);
      }
    }
    this.o.onPass?.(results, ok);
    return ok;
  }

  /** Passes until `signal` aborts: every interval after a success, with backoff after a failure. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const ok = await this.runOnce();
      let delay = this.o.intervalMs;
      if (ok) this.backoff.reset();
      else delay = Math.min(this.backoff.next(), Math.max(this.o.intervalMs, 60_000));
      await sleep(delay, signal);
    }
  }
}
