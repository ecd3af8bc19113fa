/** Process signals and cancellable waits. */
import type { Log } from "./log.js";

/** Resolves with the first SIGTERM or SIGINT, then stops listening for both. */
export function waitForSignal(log: Log): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off("SIGTERM", on);
      process.off("SIGINT", on);
      log.info({ signal: sig }, "signal received");
      resolve(sig);
    };
    process.on("SIGTERM", on);
    process.on("SIGINT", on);
  });
}

/**
 * The longest delay a Node timer holds: 2^31 - 1 ms, about 24.8 days. Node fires a timer set
 * longer than that after 1 ms (with a TimeoutOverflowWarning), so a longer wait must be split.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Waits `ms` (at most MAX_TIMER_MS: a longer wait ends then), or less if `signal` aborts first;
 * never rejects.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits until the wall clock reads `at` (ms since the epoch), or `signal` aborts; never rejects.
 * The clock is read again at least every `stepMs`: a timer counts monotonic time, which stands
 * still while the machine is suspended and ignores a stepped clock, so one timer set for a
 * deadline weeks away could fire days late (or, past MAX_TIMER_MS, at once).
 */
export async function sleepUntil(
  at: number,
  signal: AbortSignal,
  stepMs = 60_000,
  now: () => number = Date.now,
): Promise<void> {
  for (let left = at - now(); left > 0 && !signal.aborted; left = at - now()) {
    await sleep(Math.min(left, stepMs), signal);
  }
}

/** Calls `fn` on every SIGHUP until the returned function is called. */
export function onHangup(log: Log, fn: () => void): () => void {
  const on = (): void => {
    log.info({ signal: "SIGHUP" }, "signal received");
    fn();
  };
  process.on("SIGHUP", on);
  return () => process.off("SIGHUP", on);
}
