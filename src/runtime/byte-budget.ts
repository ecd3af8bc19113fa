/**
 * A budget of bytes being processed at once (a weighted semaphore): a request reserves its size
 * before its body is read and releases it when answered, so a burst of large requests waits its turn
 * (their bytes stay in the senders' and the kernel's buffers) instead of all being parsed at once
 * and taking the process past its memory limit. Waiters are served in arrival order; one larger than
 * the whole budget runs alone.
 */
export interface ByteBudgetStats {
  readonly inUse: number;
  readonly waiting: number;
}

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
}

export class ByteBudget {
  private inUse = 0;
  private readonly waiters: Waiter[] = [];

  constructor(readonly limit: number) {}

  stats(): ByteBudgetStats {
    return { inUse: this.inUse, waiting: this.waiters.length };
  }

  /** Reserves `bytes` (capped at the limit) if they fit now, with no one waiting before; else undefined. */
  tryAcquire(bytes: number): (() => void) | undefined {
    const n = Math.min(Math.max(0, bytes), this.limit);
    if (this.waiters.length > 0 || this.inUse + n > this.limit) return undefined;
    this.inUse += n;
    return this.releaser(n);
  }

  /**
   * Reserves `bytes` (capped at the limit); resolves with the release function once they fit, or
   * with undefined if they did not within `waitMs` or `signal` aborted first.
   */
  acquire(bytes: number, waitMs: number, signal?: AbortSignal): Promise<(() => void) | undefined> {
    const n = Math.min(Math.max(0, bytes), this.limit);
    if (this.waiters.length === 0 && this.inUse + n <= this.limit) {
      this.inUse += n;
      return Promise.resolve(this.releaser(n));
    }
    return new Promise((resolve) => {
      const done = (granted: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(granted ? this.releaser(n) : undefined);
        if (!granted) this.grant();
      };
      const waiter: Waiter = {
        bytes: n,
        grant: () => {
          done(true);
        },
      };
      const onAbort = (): void => {
        done(false);
      };
      const timer = setTimeout(onAbort, Math.max(0, waitMs));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private releaser(n: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse -= n;
      this.grant();
    };
  }

  /** Grants waiters in order while the first one fits. */
  private grant(): void {
    for (;;) {
      const next = this.waiters[0];
      if (next === undefined || this.inUse + next.bytes > this.limit) return;
      this.inUse += next.bytes;
      this.waiters.shift();
      next.grant();
    }
  }
}
