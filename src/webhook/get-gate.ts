/**
 * What stands between a lookup for an account missing from the cache and a direct GET to the API
 * server. Anyone who can reach the webhook can name accounts that do not exist, and each such review
 * used to cost one GET (2,000 reviews, 2,000 GETs). Here:
 * - a token bucket limits the GET rate; a GET over it queues (oldest first) for a token, and is
 *   dropped if nobody waits for it any more by then (its lookup waits for the watch meanwhile);
 * - an account the API server just said does not exist is not asked for again for a while (the
 *   watch still delivers it when it is created, and a relist or event forgets the 404).
 */
import { TokenBucket } from "../runtime/rate-limit.js";

/** Why a lookup made no direct GET (yet). */
export type GetSkipped =
  /** the API server said it does not exist less than `negativeTtlMs` ago */
  | "known_missing"
  /** over the GET rate: queued for a token, waiting for the watch meanwhile */
  | "rate_limited";

/** Direct GETs per second, on average (default). */
export const DEFAULT_GET_RATE = 20;
/** Direct GETs at once before the rate applies (default). */
export const DEFAULT_GET_BURST = 50;
/** How long a 404 is remembered (default). */
export const DEFAULT_NEGATIVE_TTL_MS = 10_000;
/** Most accounts remembered as missing; the oldest are forgotten first. */
export const MAX_NEGATIVE_ENTRIES = 10_000;

export interface GetGateOptions {
  readonly getRate?: number | undefined;
  readonly getBurst?: number | undefined;
  readonly negativeTtlMs?: number | undefined;
  readonly onGetSkipped?: ((why: GetSkipped) => void) | undefined;
}

interface Queued {
  readonly start: () => void;
  /** false once nobody waits for this GET */
  readonly wanted: () => boolean;
}

export class GetGate {
  /** key → when the GET said 404 (performance.now), oldest first */
  private readonly missing = new Map<string, number>();
  private readonly tokens: TokenBucket;
  private readonly queue = new Map<string, Queued>();
  private timer: NodeJS.Timeout | undefined;
  private readonly ttlMs: number;

  constructor(private readonly opts: GetGateOptions) {
    this.tokens = new TokenBucket({
      perSecond: opts.getRate ?? DEFAULT_GET_RATE,
      burst: opts.getBurst ?? DEFAULT_GET_BURST,
    });
    this.ttlMs = opts.negativeTtlMs ?? DEFAULT_NEGATIVE_TTL_MS;
  }

  /**
   * Calls `start` now, or later when the rate allows and `wanted()` still holds, or never when the
   * account is known to be missing. False when the GET is not made now.
   */
  request(key: string, start: () => void, wanted: () => boolean): boolean {
    const missingAt = this.missing.get(key);
    if (missingAt !== undefined) {
      if (performance.now() - missingAt < this.ttlMs) {
        this.opts.onGetSkipped?.("known_missing");
        return false;
      }
      this.missing.delete(key);
    }
    if (this.queue.size === 0 && this.tokens.take()) {
      start();
      return true;
    }
    if (!this.queue.has(key)) {
      this.opts.onGetSkipped?.("rate_limited");
      this.queue.set(key, { start, wanted });
      this.schedule();
    }
    return false;
  }

  /** Whether a GET for `key` waits for a token. */
  queued(key: string): boolean {
    return this.queue.has(key);
  }

  /** The API server said the account does not exist. */
  rememberMissing(key: string): void {
    this.missing.delete(key);
    this.missing.set(key, performance.now());
    if (this.missing.size > MAX_NEGATIVE_ENTRIES) {
      const oldest = this.missing.keys().next();
      if (oldest.done !== true) this.missing.delete(oldest.value);
    }
  }

  /** The account was seen (watch or relist): a remembered 404 is over. */
  forget(key: string): void {
    this.missing.delete(key);
  }

  /** Nobody waits for `key` any more. */
  cancel(key: string): void {
    this.queue.delete(key);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.clear();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.size === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.drain();
      },
      Math.max(1, this.tokens.waitMs()),
    );
  }

  private drain(): void {
    for (const [key, q] of this.queue) {
      const wanted = q.wanted();
      if (wanted && !this.tokens.take()) break;
      this.queue.delete(key);
      if (wanted) q.start();
    }
    this.schedule();
  }
}
