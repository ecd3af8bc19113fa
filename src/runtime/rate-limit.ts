/**
 * Token buckets: at most `burst` at once, refilled at `perSecond`. Used to bound what untrusted
 * input can make a server do (requests to another service, log lines), never to delay it forever.
 */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly perSecond: number;
  /** The most tokens held (and the first burst allowed). */
  readonly burst: number;
  /** The clock, in milliseconds; default performance.now. */
  readonly now?: () => number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(private readonly o: TokenBucketOptions) {
    this.now = o.now ?? (() => performance.now());
    this.tokens = o.burst;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.o.burst, this.tokens + ((t - this.last) / 1000) * this.o.perSecond);
    this.last = t;
  }

  /** Takes a token if one is there. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token (0 if one is there now). */
  waitMs(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) / this.o.perSecond) * 1000);
  }
}
