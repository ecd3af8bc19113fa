/** Exponential backoff with jitter for retry loops: 1 s, 2 s, 4 s... up to a ceiling. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor?: number;
  /** In [0, 1): each delay is shortened by up to this fraction (default 0.2), so replicas spread out. */
  readonly jitter?: number;
  /** Source of randomness in [0, 1); Math.random by default. */
  readonly random?: () => number;
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly o: BackoffOptions) {}

  /** The delay before the next retry; each call doubles it (times `factor`) up to `maxMs`. */
  next(): number {
    const base = Math.min(this.o.maxMs, this.o.initialMs * (this.o.factor ?? 2) ** this.attempt);
    this.attempt++;
    const jitter = this.o.jitter ?? 0.2;
    return Math.round(base * (1 - jitter * (this.o.random ?? Math.random)()));
  }

  /** After a success: the next failure waits `initialMs` again. */
  reset(): void {
    this.attempt = 0;
  }

  /** Failures in a row so far. */
  get failures(): number {
    return this.attempt;
  }
}
